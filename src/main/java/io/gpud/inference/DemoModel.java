package io.gpud.inference;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a small random-weight Llama model as a GGUF file, so a fresh checkout can serve
 * requests without downloading anything ({@code gpud run --demo}) and tests have a model
 * with a tokenizer.
 *
 * <p>Shape: dim 64, hidden 192, 2 layers, 4 heads, 2 KV heads, context 512. The weights
 * are Gaussian noise from the seed, so the same seed writes the same file. The vocabulary is
 * byte-level sentencepiece ({@code tokenizer.ggml.model = "llama"}): {@code <unk>},
 * {@code <s>}, {@code </s>}, the 256 byte tokens {@code <0x00>}..{@code <0xFF>} (ids 3 to
 * 258, as in llama2.c) and {@code ▁} (the space, id 259, which carries the dummy prefix), so
 * any text round-trips. The untied classifier has zero rows for every token except the
 * printable ASCII bytes, newline and {@code ▁}: generated text is readable (if
 * meaningless), and the model ends a generation only by length or a stop sequence.
 */
public final class DemoModel {
    public static final int DIM = 64;
    public static final int HIDDEN_DIM = 192;
    public static final int LAYERS = 2;
    public static final int HEADS = 4;
    public static final int KV_HEADS = 2;
    public static final int CONTEXT_LENGTH = 512;
    /** Id of the first byte token {@code <0x00>}; byte b is {@code BYTE_TOKEN_OFFSET + b}. */
    public static final int BYTE_TOKEN_OFFSET = 3;
    /** Id of {@code ▁}, the space piece. */
    public static final int SPACE_TOKEN = BYTE_TOKEN_OFFSET + 256;
    public static final int VOCAB_SIZE = SPACE_TOKEN + 1;

    private DemoModel() {
    }

    /** Writes the demo model with F32 weights. */
    public static void write(Path file, long seed) {
        write(file, seed, GgmlType.F32);
    }

    /** Writes the demo model with {@code type} matrices (F32, F16, BF16, Q8_0 or Q4_0). */
    public static void write(Path file, long seed, GgmlType type) {
        var random = new SplittableRandom(seed);
        int kvDim = KV_HEADS * (DIM / HEADS);
        var writer = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("general.name", GgufValue.string("gpud-demo"))
                .put("llama.context_length", GgufValue.uint32(CONTEXT_LENGTH))
                .put("llama.embedding_length", GgufValue.uint32(DIM))
                .put("llama.feed_forward_length", GgufValue.uint32(HIDDEN_DIM))
                .put("llama.block_count", GgufValue.uint32(LAYERS))
                .put("llama.attention.head_count", GgufValue.uint32(HEADS))
                .put("llama.attention.head_count_kv", GgufValue.uint32(KV_HEADS))
                .put("llama.rope.freq_base", GgufValue.float32(10000f))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-5f))
                .put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(pieces()))
                .put("tokenizer.ggml.scores", GgufValue.float32Array(new float[VOCAB_SIZE]))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(tokenTypes()))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(1))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(2))
                .put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(0));

        float scale = (float) (1 / Math.sqrt(DIM));
        writer.tensor("token_embd.weight", type, dims(DIM, VOCAB_SIZE), gaussian(random, VOCAB_SIZE * DIM, 1f));
        for (int l = 0; l < LAYERS; l++) {
            String block = "blk." + l + ".";
            writer.tensor(block + "attn_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM))
                    .tensor(block + "attn_q.weight", type, dims(DIM, DIM), gaussian(random, DIM * DIM, scale))
                    .tensor(block + "attn_k.weight", type, dims(DIM, kvDim), gaussian(random, kvDim * DIM, scale))
                    .tensor(block + "attn_v.weight", type, dims(DIM, kvDim), gaussian(random, kvDim * DIM, scale))
                    .tensor(block + "attn_output.weight", type, dims(DIM, DIM), gaussian(random, DIM * DIM, scale))
                    .tensor(block + "ffn_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM))
                    .tensor(block + "ffn_gate.weight", type, dims(DIM, HIDDEN_DIM),
                            gaussian(random, HIDDEN_DIM * DIM, scale))
                    .tensor(block + "ffn_up.weight", type, dims(DIM, HIDDEN_DIM),
                            gaussian(random, HIDDEN_DIM * DIM, scale))
                    .tensor(block + "ffn_down.weight", type, dims(HIDDEN_DIM, DIM),
                            gaussian(random, DIM * HIDDEN_DIM, (float) (1 / Math.sqrt(HIDDEN_DIM))));
        }
        writer.tensor("output_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM));
        writer.tensor("output.weight", type, dims(DIM, VOCAB_SIZE), readableClassifier(random));
        writer.write(file);
    }

    /** The GGUF spelling of the vocabulary. */
    private static List<String> pieces() {
        var pieces = new ArrayList<String>(VOCAB_SIZE);
        pieces.addAll(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            pieces.add("<0x%02X>".formatted(b));
        }
        pieces.add("\u2581");
        return pieces;
    }

    private static int[] tokenTypes() {
        int[] types = new int[VOCAB_SIZE];
        types[0] = SentencePieceTokenizer.UNKNOWN;
        types[1] = SentencePieceTokenizer.CONTROL;
        types[2] = SentencePieceTokenizer.CONTROL;
        for (int b = 0; b < 256; b++) {
            types[BYTE_TOKEN_OFFSET + b] = SentencePieceTokenizer.BYTE;
        }
        types[SPACE_TOKEN] = SentencePieceTokenizer.NORMAL;
        return types;
    }

    /** (vocab, dim): random rows for printable ASCII, newline and ▁; zero rows otherwise. */
    private static float[] readableClassifier(SplittableRandom random) {
        float[] weights = new float[VOCAB_SIZE * DIM];
        for (int token = 0; token < VOCAB_SIZE; token++) {
            int b = token - BYTE_TOKEN_OFFSET;
            boolean readable = token == SPACE_TOKEN || b == '\n' || (b >= 0x20 && b < 0x7F);
            if (readable) {
                for (int i = 0; i < DIM; i++) {
                    weights[token * DIM + i] = (float) random.nextGaussian();
                }
            }
        }
        return weights;
    }

    /** GGUF dims of a matrix with {@code rows} rows of {@code cols}: [cols, rows]. */
    private static long[] dims(int cols, int rows) {
        return new long[] {cols, rows};
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian() * scale;
        }
        return values;
    }

    private static float[] ones(int n) {
        float[] values = new float[n];
        Arrays.fill(values, 1f);
        return values;
    }
}
