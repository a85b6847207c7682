package io.gpud.inference;

import java.util.Locale;

/**
 * The transformer families the engine runs, and what sets each apart from Llama. They share
 * one forward pass ({@link Llama}); a family is a set of switches that pass reads where the
 * difference applies. Shapes (head size, QKV biases, RoPE details, attention scale, sliding
 * windows, soft-capping) are numbers in {@link LlamaConfig} or optional tensors in
 * {@link LlamaWeights}, read from each file's metadata.
 *
 * @param ggufName       the GGUF {@code general.architecture} (and metadata key prefix)
 * @param ggufRope       the RoPE pairs of this family's GGUF files: llama's converters permute
 *                       the query and key rows to rotate adjacent pairs, the others keep
 *                       Hugging Face's rows and rotate halves (llama.cpp's NORM and NEOX)
 * @param qkNorm         RMSNorm of every query and key head (its own weights per layer) before RoPE
 * @param sandwichNorms  RMSNorm of the attention and feed-forward outputs before each residual
 *                       add, besides the usual one of their inputs (Gemma's pre/post norms)
 * @param gelu           the feed-forward gate is GELU (tanh approximation), not SiLU (GeGLU)
 * @param scaledEmbedding token embeddings are multiplied by √dim
 * @param unitOffsetNorms Hugging Face checkpoints store RMSNorm weights as w where the model
 *                       multiplies by 1 + w; GGUF converters store 1 + w
 */
enum Architecture {
    LLAMA("llama", LlamaConfig.RopeLayout.ADJACENT_PAIRS, false, false, false, false, false),
    QWEN2("qwen2", LlamaConfig.RopeLayout.HALVES, false, false, false, false, false),
    QWEN3("qwen3", LlamaConfig.RopeLayout.HALVES, true, false, false, false, false),
    GEMMA2("gemma2", LlamaConfig.RopeLayout.HALVES, false, true, true, true, true),
    GEMMA3("gemma3", LlamaConfig.RopeLayout.HALVES, true, true, true, true, true),
    PHI3("phi3", LlamaConfig.RopeLayout.HALVES, false, false, false, false, false);

    private final String ggufName;
    private final LlamaConfig.RopeLayout ggufRope;
    private final boolean qkNorm;
    private final boolean sandwichNorms;
    private final boolean gelu;
    private final boolean scaledEmbedding;
    private final boolean unitOffsetNorms;

    Architecture(String ggufName, LlamaConfig.RopeLayout ggufRope, boolean qkNorm, boolean sandwichNorms, boolean gelu,
                 boolean scaledEmbedding, boolean unitOffsetNorms) {
        this.ggufName = ggufName;
        this.ggufRope = ggufRope;
        this.qkNorm = qkNorm;
        this.sandwichNorms = sandwichNorms;
        this.gelu = gelu;
        this.scaledEmbedding = scaledEmbedding;
        this.unitOffsetNorms = unitOffsetNorms;
    }

    String ggufName() {
        return ggufName;
    }

    LlamaConfig.RopeLayout ggufRope() {
        return ggufRope;
    }

    boolean qkNorm() {
        return qkNorm;
    }

    boolean sandwichNorms() {
        return sandwichNorms;
    }

    boolean gelu() {
        return gelu;
    }

    boolean scaledEmbedding() {
        return scaledEmbedding;
    }

    boolean unitOffsetNorms() {
        return unitOffsetNorms;
    }

    /** The family a GGUF {@code general.architecture} names, or null when the engine does not run it. */
    static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        return null;
    }

    /**
     * The family of a Hugging Face {@code config.json} {@code model_type} ({@code mistral} is
     * Llama's), or null when the engine does not run it.
     */
    static Architecture fromHuggingFace(String modelType) {
        String type = modelType.toLowerCase(Locale.ROOT);
        return type.equals("mistral") ? LLAMA : fromGguf(type.equals("gemma3_text") ? "gemma3" : type);
    }

    /** The names both lookups accept, for error messages. */
    static String names() {
        var names = new StringBuilder();
        for (Architecture a : values()) {
            names.append(names.isEmpty() ? "" : ", ").append(a.ggufName);
        }
        return names.toString();
    }
}
