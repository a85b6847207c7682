package io.gpud.inference;

/**
 * The Llama forward pass for one token of one sequence.
 *
 * <p>Design. Generation is a loop of {@code forward(token, position)} calls, each turning
 * one token into the logits of the next. Everything a sequence remembers lives in its
 * {@link State}: the activation buffers, reused at every step, and the KV cache, which
 * holds the keys and values of every earlier position so each step costs
 * O(layers × (weights + position × kvDim)) instead of recomputing the prefix. The weights
 * are shared, read-only and memory-mapped, so any number of sequences (one per worker
 * thread) run on one {@code Llama} at once.
 *
 * <p>One step, per layer: RMSNorm the residual stream; project it to queries, keys and
 * values; rotate queries and keys by the position (RoPE, rotating adjacent pairs
 * (x[2i], x[2i+1]) as llama2.c and GGUF llama do); store key and value in the cache;
 * attend — each query head h reads key/value head h / (heads / kvHeads) (grouped-query
 * attention), softmax over the scaled scores of positions 0..pos; project back and add to
 * the residual; RMSNorm again; SwiGLU feed-forward (silu(w1·x) ⊙ (w3·x), then w2) and add
 * to the residual. Finally RMSNorm and the classifier give the logits.
 *
 * <p>The arithmetic follows llama2.c's {@code run.c} operation by operation in float32, so
 * greedy decoding reproduces its token ids; the matrix × vector kernel (the only place where
 * time goes) is {@link FloatTensor#dot}.
 */
final class Llama {
    private final LlamaConfig config;
    private final LlamaWeights weights;

    Llama(LlamaConfig config, LlamaWeights weights) {
        this.config = config;
        this.weights = weights;
    }

    LlamaConfig config() {
        return config;
    }

    LlamaWeights weights() {
        return weights;
    }

    /** The mutable memory of one sequence: activations and KV cache. */
    static final class State {
        final float[] x;          // (dim) residual stream
        final float[] xb;         // (dim) normalised input of a branch, then attention output
        final float[] xb2;        // (dim) branch output before the residual add
        final float[] hb;         // (hiddenDim) SwiGLU gate
        final float[] hb2;        // (hiddenDim) SwiGLU up
        final float[] q;          // (dim) queries of this position
        final float[] k;          // (kvDim) key of this position
        final float[] v;          // (kvDim) value of this position
        final float[] att;        // (heads, contextLength) attention weights
        final float[] logits;     // (vocab)
        final float[][] keyCache;   // (layer, contextLength × kvDim)
        final float[][] valueCache; // (layer, contextLength × kvDim)

        State(LlamaConfig c) {
            int kvDim = c.kvDim();
            x = new float[c.dim()];
            xb = new float[c.dim()];
            xb2 = new float[c.dim()];
            hb = new float[c.hiddenDim()];
            hb2 = new float[c.hiddenDim()];
            q = new float[c.dim()];
            k = new float[kvDim];
            v = new float[kvDim];
            att = new float[Math.multiplyExact(c.heads(), c.contextLength())];
            logits = new float[c.vocabSize()];
            keyCache = new float[c.layers()][Math.multiplyExact(c.contextLength(), kvDim)];
            valueCache = new float[c.layers()][Math.multiplyExact(c.contextLength(), kvDim)];
        }
    }

    State newState() {
        return new State(config);
    }

    /** Runs {@code token} at position {@code pos}; returns the logits (owned by {@code s}). */
    float[] forward(State s, int token, int pos) {
        LlamaConfig c = config;
        LlamaWeights w = weights;
        int dim = c.dim();
        int kvDim = c.kvDim();
        int headSize = c.headSize();
        int kvMul = c.heads() / c.kvHeads();
        int hiddenDim = c.hiddenDim();
        float attentionScale = (float) Math.sqrt(headSize);

        w.tokenEmbedding().copyRow(token, dim, s.x);

        for (int l = 0; l < c.layers(); l++) {
            // attention: x += wo · attend(rope(wq · rms(x)), cache)
            rmsnorm(s.xb, s.x, w.rmsAttention()[l], dim, c.rmsEps());
            w.wq()[l].matmul(s.xb, s.q, dim, dim);
            w.wk()[l].matmul(s.xb, s.k, kvDim, dim);
            w.wv()[l].matmul(s.xb, s.v, kvDim, dim);
            rope(s.q, dim, headSize, pos, c.ropeTheta());
            rope(s.k, kvDim, headSize, pos, c.ropeTheta());
            System.arraycopy(s.k, 0, s.keyCache[l], pos * kvDim, kvDim);
            System.arraycopy(s.v, 0, s.valueCache[l], pos * kvDim, kvDim);

            float[] keys = s.keyCache[l];
            float[] values = s.valueCache[l];
            for (int h = 0; h < c.heads(); h++) {
                int qOffset = h * headSize;
                int kvOffset = (h / kvMul) * headSize;
                int attOffset = h * c.contextLength();
                for (int t = 0; t <= pos; t++) {
                    int keyOffset = t * kvDim + kvOffset;
                    float score = 0f;
                    for (int i = 0; i < headSize; i++) {
                        score += s.q[qOffset + i] * keys[keyOffset + i];
                    }
                    s.att[attOffset + t] = score / attentionScale;
                }
                softmax(s.att, attOffset, pos + 1);
                for (int i = 0; i < headSize; i++) {
                    s.xb[qOffset + i] = 0f;
                }
                for (int t = 0; t <= pos; t++) {
                    float a = s.att[attOffset + t];
                    int valueOffset = t * kvDim + kvOffset;
                    for (int i = 0; i < headSize; i++) {
                        s.xb[qOffset + i] += a * values[valueOffset + i];
                    }
                }
            }
            w.wo()[l].matmul(s.xb, s.xb2, dim, dim);
            for (int i = 0; i < dim; i++) {
                s.x[i] += s.xb2[i];
            }

            // feed-forward: x += w2 · (silu(w1 · rms(x)) ⊙ (w3 · rms(x)))
            rmsnorm(s.xb, s.x, w.rmsFfn()[l], dim, c.rmsEps());
            w.w1()[l].matmul(s.xb, s.hb, hiddenDim, dim);
            w.w3()[l].matmul(s.xb, s.hb2, hiddenDim, dim);
            for (int i = 0; i < hiddenDim; i++) {
                float gate = s.hb[i];
                gate *= 1.0f / (1.0f + (float) Math.exp(-gate));
                s.hb[i] = gate * s.hb2[i];
            }
            w.w2()[l].matmul(s.hb, s.xb, dim, hiddenDim);
            for (int i = 0; i < dim; i++) {
                s.x[i] += s.xb[i];
            }
        }

        rmsnorm(s.x, s.x, w.rmsFinal(), dim, c.rmsEps());
        w.classifier().matmul(s.x, s.logits, c.vocabSize(), dim);
        return s.logits;
    }

    /** out = weight ⊙ x / sqrt(mean(x²) + eps); {@code out} may be {@code x}. */
    static void rmsnorm(float[] out, float[] x, float[] weight, int size, float eps) {
        float ss = 0f;
        for (int i = 0; i < size; i++) {
            ss += x[i] * x[i];
        }
        ss /= size;
        ss += eps;
        ss = 1f / (float) Math.sqrt(ss);
        for (int i = 0; i < size; i++) {
            out[i] = weight[i] * (ss * x[i]);
        }
    }

    /** Rotates each adjacent pair (v[i], v[i+1]) by pos × theta^(-(i mod headSize) / headSize). */
    static void rope(float[] v, int size, int headSize, int pos, float theta) {
        for (int i = 0; i < size; i += 2) {
            int headDim = i % headSize;
            float frequency = 1.0f / (float) Math.pow(theta, headDim / (float) headSize);
            float angle = pos * frequency;
            float cos = (float) Math.cos(angle);
            float sin = (float) Math.sin(angle);
            float v0 = v[i];
            float v1 = v[i + 1];
            v[i] = v0 * cos - v1 * sin;
            v[i + 1] = v0 * sin + v1 * cos;
        }
    }

    /** Softmax in place over x[offset, offset + size). */
    static void softmax(float[] x, int offset, int size) {
        float max = x[offset];
        for (int i = 1; i < size; i++) {
            max = Math.max(max, x[offset + i]);
        }
        float sum = 0f;
        for (int i = 0; i < size; i++) {
            x[offset + i] = (float) Math.exp(x[offset + i] - max);
            sum += x[offset + i];
        }
        for (int i = 0; i < size; i++) {
            x[offset + i] /= sum;
        }
    }
}
