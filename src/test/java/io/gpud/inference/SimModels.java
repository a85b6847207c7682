package io.gpud.inference;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Small random GGUF models of any weight type, for the engine tests. */
public final class SimModels {
    private SimModels() {
    }

    /**
     * A one-layer model of width {@code cols} whose query matrix is {@code values}
     * ({@code rows × cols} with rows = cols); the other matrices are random.
     */
    public static Path writeSingleMatrixModel(Path dir, GgmlType type, float[] values, int rows, int cols) {
        if (rows != cols) {
            throw new IllegalArgumentException("the query matrix is square, was " + rows + " × " + cols);
        }
        return write(dir.resolve("single-" + type + ".gguf"), type, cols, 2 * cols, 1, 1, 1, 64, values, 1);
    }

    /** A random model with the given shape and matrix type, no tokenizer (token ids only). */
    public static Path write(Path file, GgmlType type, int dim, int hidden, int layers, int heads, int kvHeads, int vocab,
                             float[] firstQuery, long seed) {
        var random = new SplittableRandom(seed);
        int kvDim = dim / heads * kvHeads;
        var w = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("llama.context_length", GgufValue.uint32(128))
                .put("llama.embedding_length", GgufValue.uint32(dim))
                .put("llama.feed_forward_length", GgufValue.uint32(hidden))
                .put("llama.block_count", GgufValue.uint32(layers))
                .put("llama.attention.head_count", GgufValue.uint32(heads))
                .put("llama.attention.head_count_kv", GgufValue.uint32(kvHeads));
        float scale = (float) (1 / Math.sqrt(dim));
        w.tensor("token_embd.weight", type, new long[] {dim, vocab}, gaussian(random, vocab * dim, 1f));
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            w.tensor(b + "attn_norm.weight", GgmlType.F32, new long[] {dim}, norm(random, dim))
                    .tensor(b + "attn_q.weight", type, new long[] {dim, dim},
                            l == 0 && firstQuery != null ? firstQuery : gaussian(random, dim * dim, scale))
                    .tensor(b + "attn_k.weight", type, new long[] {dim, kvDim}, gaussian(random, kvDim * dim, scale))
                    .tensor(b + "attn_v.weight", type, new long[] {dim, kvDim}, gaussian(random, kvDim * dim, scale))
                    .tensor(b + "attn_output.weight", type, new long[] {dim, dim}, gaussian(random, dim * dim, scale))
                    .tensor(b + "ffn_norm.weight", GgmlType.F32, new long[] {dim}, norm(random, dim))
                    .tensor(b + "ffn_gate.weight", type, new long[] {dim, hidden}, gaussian(random, hidden * dim, scale))
                    .tensor(b + "ffn_up.weight", type, new long[] {dim, hidden}, gaussian(random, hidden * dim, scale))
                    .tensor(b + "ffn_down.weight", type, new long[] {hidden, dim},
                            gaussian(random, dim * hidden, (float) (1 / Math.sqrt(hidden))));
        }
        w.tensor("output_norm.weight", GgmlType.F32, new long[] {dim}, norm(random, dim));
        w.tensor("output.weight", type, new long[] {dim, vocab}, gaussian(random, vocab * dim, 1f));
        w.write(file);
        return file;
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }

    private static float[] norm(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = 0.5f + (float) random.nextDouble();
        }
        return v;
    }
}
