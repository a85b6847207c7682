package io.gpud.inference;

/**
 * The weights of a transformer. Matrices are row-major {@code rows × cols} and multiply a
 * column vector of {@code cols} floats; per-layer arrays are indexed by layer. Large matrices
 * stay memory-mapped (a fused matrix of the file, such as Phi-3's QKV, is cut into views of
 * its rows); the small vectors (norms, biases) are copied to the heap. The optional tensors
 * are null when the model has none: the {@link Llama} constructor checks that a model has
 * what its {@link Architecture} needs.
 *
 * @param tokenEmbedding    (vocab, dim)
 * @param rmsAttention      (layer, dim)
 * @param wq                (layer) × (qDim, dim): queries, heads × headSize rows
 * @param wk                (layer) × (kvDim, dim)
 * @param wv                (layer) × (kvDim, dim)
 * @param wo                (layer) × (dim, qDim): attention output
 * @param rmsFfn            (layer, dim)
 * @param w1                (layer) × (hiddenDim, dim): gate
 * @param w2                (layer) × (dim, hiddenDim): down
 * @param w3                (layer) × (hiddenDim, dim): up
 * @param rmsFinal          (dim)
 * @param classifier        (vocab, dim); the token embedding when tied
 * @param qBias             (layer, qDim) added to the queries (Qwen2), or null
 * @param kBias             (layer, kvDim), or null
 * @param vBias             (layer, kvDim), or null
 * @param qNorm             (layer, headSize) RMSNorm of each query head (Qwen3, Gemma 3), or null
 * @param kNorm             (layer, headSize) RMSNorm of each key head, or null
 * @param rmsPostAttention  (layer, dim) RMSNorm of the attention output (Gemma), or null
 * @param rmsPostFfn        (layer, dim) RMSNorm of the feed-forward output (Gemma), or null
 */
record LlamaWeights(
        FloatTensor tokenEmbedding,
        float[][] rmsAttention,
        FloatTensor[] wq,
        FloatTensor[] wk,
        FloatTensor[] wv,
        FloatTensor[] wo,
        float[][] rmsFfn,
        FloatTensor[] w1,
        FloatTensor[] w2,
        FloatTensor[] w3,
        float[] rmsFinal,
        FloatTensor classifier,
        float[][] qBias,
        float[][] kBias,
        float[][] vBias,
        float[][] qNorm,
        float[][] kNorm,
        float[][] rmsPostAttention,
        float[][] rmsPostFfn) {

    /** A Llama's weights: no biases, no head norms, no output norms. */
    LlamaWeights(FloatTensor tokenEmbedding, float[][] rmsAttention, FloatTensor[] wq, FloatTensor[] wk,
                 FloatTensor[] wv, FloatTensor[] wo, float[][] rmsFfn, FloatTensor[] w1, FloatTensor[] w2,
                 FloatTensor[] w3, float[] rmsFinal, FloatTensor classifier) {
        this(tokenEmbedding, rmsAttention, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal, classifier,
                null, null, null, null, null, null, null);
    }

    /** The tensors {@code config}'s architecture needs and this model lacks, or an empty string. */
    String missingFor(LlamaConfig config) {
        var missing = new StringBuilder();
        Architecture a = config.architecture();
        if (a.qkNorm() && (qNorm == null || kNorm == null)) {
            missing.append(" query/key norms");
        }
        if (a.sandwichNorms() && (rmsPostAttention == null || rmsPostFfn == null)) {
            missing.append(" post-attention/post-feed-forward norms");
        }
        return missing.toString().strip();
    }
}
