package io.gpud.it;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A random-weight llama2.c checkpoint with the dimensions of stories15M (dim 288, hidden
 * 768, 6 layers, 6 heads) and a 259-token byte vocabulary, written by the test: slow
 * enough (a few hundred tokens per second) that requests are still streaming while a test
 * drains or stops the daemon. The embedding rows of the control tokens are zero, so with a
 * tied classifier their logits stay 0 and greedy decoding never ends a stream early.
 */
final class SlowModel {
    static final int DIM = 288;
    static final int HIDDEN = 768;
    static final int LAYERS = 6;
    static final int HEADS = 6;
    static final int VOCAB = 259;
    static final int SEQ = 1024;

    private SlowModel() {
    }

    /** Writes {@code model.bin} and {@code tokenizer.bin} into {@code dir}. */
    static void write(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        var random = new SplittableRandom(seed);
        try (OutputStream out = Files.newOutputStream(dir.resolve("model.bin"))) {
            ints(out, DIM, HIDDEN, LAYERS, HEADS, HEADS, VOCAB, SEQ);
            int headSize = DIM / HEADS;
            // token embedding (vocab, dim): control tokens 0..2 zero
            float[] embedding = gaussian(random, VOCAB * DIM, 1f);
            java.util.Arrays.fill(embedding, 0, 3 * DIM, 0f);
            floats(out, embedding);
            floats(out, ones(LAYERS * DIM));                                     // rms_att
            floats(out, gaussian(random, LAYERS * DIM * DIM, 0.06f));            // wq
            floats(out, gaussian(random, LAYERS * DIM * DIM, 0.06f));            // wk
            floats(out, gaussian(random, LAYERS * DIM * DIM, 0.06f));            // wv
            floats(out, gaussian(random, LAYERS * DIM * DIM, 0.06f));            // wo
            floats(out, ones(LAYERS * DIM));                                     // rms_ffn
            floats(out, gaussian(random, LAYERS * HIDDEN * DIM, 0.06f));         // w1
            floats(out, gaussian(random, LAYERS * DIM * HIDDEN, 0.04f));         // w2
            floats(out, gaussian(random, LAYERS * HIDDEN * DIM, 0.06f));         // w3
            floats(out, ones(DIM));                                              // rms_final
            floats(out, new float[SEQ * headSize]);                              // freq_cis_real, freq_cis_imag
        }
        try (OutputStream out = Files.newOutputStream(dir.resolve("tokenizer.bin"))) {
            ints(out, 6);
            token(out, "<unk>");
            token(out, "\n<s>\n");
            token(out, "\n</s>\n");
            for (int b = 0; b < 256; b++) {
                token(out, String.format("<0x%02X>", b));
            }
        }
    }

    private static void token(OutputStream out, String piece) throws IOException {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        var b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0f).putInt(bytes.length);
        out.write(b.array());
        out.write(bytes);
    }

    private static float[] ones(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, 1f);
        return f;
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (random.nextGaussian() * scale);
        }
        return f;
    }

    private static void ints(OutputStream out, int... values) throws IOException {
        var b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        out.write(b.array());
    }

    private static void floats(OutputStream out, float[] values) throws IOException {
        var b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        out.write(b.array());
    }
}
