package io.gpud.inference;

/**
 * The hyperparameters of a Llama-family transformer.
 *
 * @param dim            width of the residual stream (embedding length)
 * @param hiddenDim      width of the SwiGLU feed-forward layer
 * @param layers         transformer blocks
 * @param heads          query heads; {@code dim} is a multiple of it
 * @param kvHeads        key/value heads (grouped-query attention); divides {@code heads}
 * @param vocabSize      tokens
 * @param contextLength  positions the KV cache holds (prompt plus generated tokens)
 * @param ropeTheta      RoPE base frequency (10000 for Llama 2, 500000 for Llama 3)
 * @param rmsEps         epsilon added to the mean square in RMSNorm
 * @param tiedClassifier the classifier is the token embedding matrix
 * @param rope           which elements of a head RoPE rotates together
 */
record LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize, int contextLength,
                   float ropeTheta, float rmsEps, boolean tiedClassifier, RopeLayout rope) {

    /** The pairs RoPE rotates within a head of size {@code hs}, pair i turning by pos × theta^(−2i/hs). */
    enum RopeLayout {
        /** (2i, 2i + 1): llama2.c and GGUF, whose converters permute the query and key rows. */
        ADJACENT_PAIRS,
        /** (i, i + hs/2): Hugging Face checkpoints ("rotate half"), rows as trained. */
        HALVES
    }

    LlamaConfig {
        positive("dim", dim);
        positive("hiddenDim", hiddenDim);
        positive("layers", layers);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("vocabSize", vocabSize);
        positive("contextLength", contextLength);
        if (dim % heads != 0) {
            throw new InferenceException("dim was " + dim + ", must be a multiple of heads " + heads);
        }
        if (dim / heads % 2 != 0) {
            throw new InferenceException("head size was " + dim / heads + " (dim " + dim + " / heads " + heads
                    + "), must be even for RoPE");
        }
        if (rope == null) {
            throw new InferenceException("rope layout is missing");
        }
        if (heads % kvHeads != 0) {
            throw new InferenceException("heads was " + heads + ", must be a multiple of kvHeads " + kvHeads);
        }
        if (!(ropeTheta > 0f) || Float.isInfinite(ropeTheta)) {
            throw new InferenceException("ropeTheta was " + ropeTheta + ", must be a positive number");
        }
        if (!(rmsEps > 0f && rmsEps < 1f)) {
            throw new InferenceException("rmsEps was " + rmsEps + ", must be in (0, 1)");
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new InferenceException(field + " was " + value + ", must be > 0");
        }
    }

    int headSize() {
        return dim / heads;
    }

    /** Width of the keys and values of one position: {@code kvHeads × headSize}. */
    int kvDim() {
        return kvHeads * headSize();
    }
}
