package io.gpud.inference;

/**
 * The hyperparameters of a transformer of one of the {@link Architecture}s.
 *
 * @param architecture   the family, whose switches the forward pass reads
 * @param dim            width of the residual stream (embedding length)
 * @param hiddenDim      width of the gated feed-forward layer
 * @param layers         transformer blocks
 * @param heads          query heads
 * @param kvHeads        key/value heads (grouped-query attention); divides {@code heads}
 * @param headSize       width of one query, key or value head; {@code dim / heads} for most
 *                       models, its own number for Qwen3, Gemma and some Llamas
 * @param vocabSize      tokens
 * @param contextLength  positions the KV cache holds (prompt plus generated tokens)
 * @param ropeTheta      RoPE base frequency (10000 for Llama 2, 500000 for Llama 3)
 * @param rmsEps         epsilon added to the mean square in RMSNorm
 * @param tiedClassifier the classifier is the token embedding matrix
 * @param rope           which elements of a head RoPE rotates together
 * @param rotary         the rest of RoPE: how much of a head turns, and scaled frequencies
 * @param attention      the attention's scale, soft cap and sliding window
 * @param logitSoftCap   c in logits = c × tanh(logits / c) (Gemma 2), or 0 for none
 */
record LlamaConfig(Architecture architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads,
                   int headSize, int vocabSize, int contextLength, float ropeTheta, float rmsEps,
                   boolean tiedClassifier, RopeLayout rope, Rotary rotary, Attention attention, float logitSoftCap) {

    /** The pairs RoPE rotates within the first {@code n} elements of a head, pair i turning by pos × theta^(−2i/n). */
    enum RopeLayout {
        /** (2i, 2i + 1): llama2.c and GGUF llama, whose converters permute the query and key rows. */
        ADJACENT_PAIRS,
        /** (i, i + n/2): Hugging Face checkpoints ("rotate half"), and GGUF of the other families. */
        HALVES
    }

    /**
     * RoPE beyond its base and layout. Pair i of position pos turns by
     * pos × scale × theta^(−2i/dims) / factors[i].
     *
     * @param dims         leading elements of each head that turn (even; the rest pass through:
     *                     Phi's partial rotary factor); the head size for most models
     * @param scale        linear position scaling, 1 / the checkpoint's factor (Gemma 3's global
     *                     layers); 1 for none. Sliding-window layers do not scale
     * @param factors      per-pair frequency divisors (dims / 2 of them: Llama 3.1's "llama3"
     *                     scaling, GGUF's {@code rope_freqs.weight}), or null for none
     * @param slidingTheta the base frequency of the sliding-window layers (Gemma 3's local
     *                     layers use 10000 while its global ones use 10⁶)
     */
    record Rotary(int dims, float scale, float[] factors, float slidingTheta) {
        Rotary {
            if (dims <= 0 || dims % 2 != 0) {
                throw new InferenceException("rotary dims was " + dims + ", must be even and > 0");
            }
            if (!(scale > 0f) || Float.isInfinite(scale)) {
                throw new InferenceException("RoPE scale was " + scale + ", must be a positive number");
            }
            if (factors != null && factors.length != dims / 2) {
                throw new InferenceException("RoPE frequency factors were " + factors.length + ", must be rotary dims / 2 = "
                        + dims / 2);
            }
            if (factors != null) {
                for (float f : factors) {
                    if (!(f > 0f) || Float.isInfinite(f)) {
                        throw new InferenceException("a RoPE frequency factor was " + f + ", must be a positive number");
                    }
                }
            }
            if (!(slidingTheta > 0f) || Float.isInfinite(slidingTheta)) {
                throw new InferenceException("sliding-window RoPE theta was " + slidingTheta + ", must be a positive number");
            }
        }

        /** Plain RoPE over the whole head. */
        static Rotary plain(int headSize, float theta) {
            return new Rotary(headSize, 1f, null, theta);
        }
    }

    /**
     * How a query attends.
     *
     * @param queryScalar    scores are q · k / √queryScalar: the head size for most models,
     *                       Gemma's {@code query_pre_attn_scalar}
     * @param softCap        c in scores = c × tanh(scores / c) before the softmax (Gemma 2), or 0
     * @param slidingWindow  positions a sliding-window layer sees, its own included (key
     *                       position > query position − window), or 0 when no layer slides
     * @param slidingPattern layer l slides when l mod pattern &lt; pattern − 1 (Gemma 2: 2,
     *                       even layers; Gemma 3: 6, five local layers then a global one);
     *                       1 with a window: every layer slides
     */
    record Attention(float queryScalar, float softCap, int slidingWindow, int slidingPattern) {
        Attention {
            if (!(queryScalar > 0f) || Float.isInfinite(queryScalar)) {
                throw new InferenceException("attention query scalar was " + queryScalar + ", must be a positive number");
            }
            if (!(softCap >= 0f) || Float.isInfinite(softCap)) {
                throw new InferenceException("attention soft cap was " + softCap + ", must be 0 or a positive number");
            }
            if (slidingWindow < 0 || slidingPattern < 1) {
                throw new InferenceException("sliding window was " + slidingWindow + " with pattern " + slidingPattern
                        + ", must be ≥ 0 and ≥ 1");
            }
        }

        /** Scores scaled by 1/√headSize, no cap, no window. */
        static Attention plain(int headSize) {
            return new Attention(headSize, 0f, 0, 1);
        }
    }

    LlamaConfig {
        if (architecture == null) {
            throw new InferenceException("architecture is missing");
        }
        positive("dim", dim);
        positive("hiddenDim", hiddenDim);
        positive("layers", layers);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("headSize", headSize);
        positive("vocabSize", vocabSize);
        positive("contextLength", contextLength);
        if (rope == null || rotary == null || attention == null) {
            throw new InferenceException("rope layout, rotary or attention is missing");
        }
        if (rotary.dims() > headSize) {
            throw new InferenceException("rotary dims was " + rotary.dims() + ", must be at most the head size "
                    + headSize);
        }
        if (heads % kvHeads != 0) {
            throw new InferenceException("heads was " + heads + ", must be a multiple of kvHeads " + kvHeads);
        }
        // the widths of a row are Java array lengths (ints), and a whole KV cache is a number
        // of bytes (a long); kvHeads ≤ heads, so the key/value width fits once the query's does
        if ((long) heads * headSize > Integer.MAX_VALUE) {
            throw new InferenceException("heads × headSize was " + heads + " × " + headSize + " = "
                    + (long) heads * headSize + ", must be at most " + Integer.MAX_VALUE);
        }
        try {
            Math.multiplyExact(Math.multiplyExact(2L * Float.BYTES * layers, (long) kvHeads * headSize), contextLength);
        } catch (ArithmeticException e) {
            throw new InferenceException("the KV cache of contextLength " + contextLength + " × layers " + layers
                    + " × kvHeads " + kvHeads + " × headSize " + headSize + " is more bytes than a long holds");
        }
        if (!(ropeTheta > 0f) || Float.isInfinite(ropeTheta)) {
            throw new InferenceException("ropeTheta was " + ropeTheta + ", must be a positive number");
        }
        if (!(rmsEps > 0f && rmsEps < 1f)) {
            throw new InferenceException("rmsEps was " + rmsEps + ", must be in (0, 1)");
        }
        if (!(logitSoftCap >= 0f) || Float.isInfinite(logitSoftCap)) {
            throw new InferenceException("logit soft cap was " + logitSoftCap + ", must be 0 or a positive number");
        }
    }

    /**
     * A Llama whose head size is {@code dim / heads}, RoPE plain over whole heads, and attention
     * scaled by 1/√headSize over every earlier position: llama2.c checkpoints, and Llama 2.
     */
    static LlamaConfig llama(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
                             int contextLength, float ropeTheta, float rmsEps, boolean tiedClassifier, RopeLayout rope) {
        positive("heads", heads);
        if (dim % heads != 0) {
            throw new InferenceException("dim was " + dim + ", must be a multiple of heads " + heads);
        }
        int headSize = dim / heads;
        if (headSize % 2 != 0) {
            throw new InferenceException("head size was " + headSize + " (dim " + dim + " / heads " + heads
                    + "), must be even for RoPE");
        }
        return new LlamaConfig(Architecture.LLAMA, dim, hiddenDim, layers, heads, kvHeads, headSize, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedClassifier, rope, Rotary.plain(headSize, ropeTheta),
                Attention.plain(headSize), 0f);
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new InferenceException(field + " was " + value + ", must be > 0");
        }
    }

    /** Width of the queries of one position, and of the attention output: {@code heads × headSize}. */
    int qDim() {
        return heads * headSize;
    }

    /** Width of the keys and values of one position: {@code kvHeads × headSize}. */
    int kvDim() {
        return kvHeads * headSize;
    }

    /** Whether layer {@code layer} attends through a sliding window rather than to every earlier position. */
    boolean sliding(int layer) {
        int pattern = attention.slidingPattern();
        return attention.slidingWindow() > 0 && (pattern == 1 || layer % pattern < pattern - 1);
    }
}
