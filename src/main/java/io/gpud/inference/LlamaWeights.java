package io.gpud.inference;

/**
 * The weights of a Llama transformer. Matrices are row-major {@code rows × cols} and
 * multiply a column vector of {@code cols} floats; per-layer arrays are indexed by layer.
 * Large matrices stay memory-mapped; the small RMSNorm vectors are copied to the heap.
 *
 * @param tokenEmbedding (vocab, dim)
 * @param rmsAttention   (layer, dim)
 * @param wq             (layer) × (dim, dim): queries, heads × headSize rows
 * @param wk             (layer) × (kvDim, dim)
 * @param wv             (layer) × (kvDim, dim)
 * @param wo             (layer) × (dim, dim): attention output
 * @param rmsFfn         (layer, dim)
 * @param w1             (layer) × (hiddenDim, dim): gate
 * @param w2             (layer) × (dim, hiddenDim): down
 * @param w3             (layer) × (hiddenDim, dim): up
 * @param rmsFinal       (dim)
 * @param classifier     (vocab, dim); the token embedding when tied
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
        FloatTensor classifier) {
}
