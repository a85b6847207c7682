package io.gpud.inference;

/**
 * Every architecture's forward pass in float64, one position at a time, every loop spelled
 * out and written from the models' definitions, sharing nothing with {@link Llama} but the
 * weights (read element by element through {@link FloatTensor#get}, so quantized weights are
 * their dequantized values) and the hyperparameters.
 */
final class Float64Transformer {
    private final LlamaConfig c;
    private final LlamaWeights w;
    private final double[][][] keys;   // (layer, position, kvDim)
    private final double[][][] values; // (layer, position, kvDim)

    Float64Transformer(LlamaConfig c, LlamaWeights w) {
        this.c = c;
        this.w = w;
        keys = new double[c.layers()][c.contextLength()][];
        values = new double[c.layers()][c.contextLength()][];
    }

    double[] forward(int token, int pos) {
        Architecture a = c.architecture();
        int dim = c.dim();
        int hs = c.headSize();
        int qDim = c.heads() * hs;
        int kvDim = c.kvHeads() * hs;
        double[] x = new double[dim];
        for (int i = 0; i < dim; i++) {
            x[i] = w.tokenEmbedding().get((long) token * dim + i);
            if (a == Architecture.GEMMA2 || a == Architecture.GEMMA3) {
                x[i] *= Math.sqrt(dim);
            }
        }
        for (int l = 0; l < c.layers(); l++) {
            boolean local = slides(l);
            double[] xn = rms(x, w.rmsAttention()[l]);
            double[] q = mul(w.wq()[l], xn, qDim, dim);
            double[] k = mul(w.wk()[l], xn, kvDim, dim);
            double[] v = mul(w.wv()[l], xn, kvDim, dim);
            if (w.qBias() != null) {
                add(q, w.qBias()[l]);
                add(k, w.kBias()[l]);
                add(v, w.vBias()[l]);
            }
            if (a == Architecture.QWEN3 || a == Architecture.GEMMA3) {
                normHeads(q, w.qNorm()[l]);
                normHeads(k, w.kNorm()[l]);
            }
            rotate(q, pos, local);
            rotate(k, pos, local);
            keys[l][pos] = k;
            values[l][pos] = v;
            int first = local ? Math.max(0, pos - c.attention().slidingWindow() + 1) : 0;
            double[] out = new double[qDim];
            for (int h = 0; h < c.heads(); h++) {
                int kvHead = h / (c.heads() / c.kvHeads());
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = first; t <= pos; t++) {
                    double s = 0;
                    for (int i = 0; i < hs; i++) {
                        s += q[h * hs + i] * keys[l][t][kvHead * hs + i];
                    }
                    s /= Math.sqrt(c.attention().queryScalar());
                    double cap = c.attention().softCap();
                    scores[t] = cap > 0 ? cap * Math.tanh(s / cap) : s;
                    max = Math.max(max, scores[t]);
                }
                double sum = 0;
                for (int t = first; t <= pos; t++) {
                    scores[t] = Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int t = first; t <= pos; t++) {
                    for (int i = 0; i < hs; i++) {
                        out[h * hs + i] += scores[t] / sum * values[l][t][kvHead * hs + i];
                    }
                }
            }
            double[] attention = mul(w.wo()[l], out, dim, qDim);
            if (w.rmsPostAttention() != null) {
                attention = rms(attention, w.rmsPostAttention()[l]);
            }
            add(x, attention);
            xn = rms(x, w.rmsFfn()[l]);
            double[] gate = mul(w.w1()[l], xn, c.hiddenDim(), dim);
            double[] up = mul(w.w3()[l], xn, c.hiddenDim(), dim);
            for (int i = 0; i < gate.length; i++) {
                double g = gate[i];
                double activated = a == Architecture.GEMMA2 || a == Architecture.GEMMA3
                        ? 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)))
                        : g / (1 + Math.exp(-g));
                gate[i] = activated * up[i];
            }
            double[] ffn = mul(w.w2()[l], gate, dim, c.hiddenDim());
            if (w.rmsPostFfn() != null) {
                ffn = rms(ffn, w.rmsPostFfn()[l]);
            }
            add(x, ffn);
        }
        double[] logits = mul(w.classifier(), rms(x, w.rmsFinal()), c.vocabSize(), dim);
        double cap = c.logitSoftCap();
        if (cap > 0) {
            for (int i = 0; i < logits.length; i++) {
                logits[i] = cap * Math.tanh(logits[i] / cap);
            }
        }
        return logits;
    }

    private boolean slides(int layer) {
        int pattern = c.attention().slidingPattern();
        return c.attention().slidingWindow() > 0 && (pattern == 1 || (layer + 1) % pattern != 0);
    }

    private double[] rms(double[] x, float[] weight) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double scale = 1 / Math.sqrt(ss / x.length + c.rmsEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * x[i] * scale;
        }
        return out;
    }

    private void normHeads(double[] v, float[] weight) {
        int hs = c.headSize();
        for (int head = 0; head < v.length; head += hs) {
            double[] one = new double[hs];
            System.arraycopy(v, head, one, 0, hs);
            System.arraycopy(rms(one, weight), 0, v, head, hs);
        }
    }

    /** The first rotary-dims elements of each head turn; the angle of pair j is pos × scale × theta^(−2j/dims) / factor j. */
    private void rotate(double[] v, int pos, boolean local) {
        int hs = c.headSize();
        LlamaConfig.Rotary r = c.rotary();
        int n = r.dims();
        double theta = local ? r.slidingTheta() : c.ropeTheta();
        double scale = local ? 1 : r.scale();
        for (int head = 0; head < v.length; head += hs) {
            for (int j = 0; j < n / 2; j++) {
                double factor = !local && r.factors() != null ? r.factors()[j] : 1;
                double angle = pos * scale * Math.pow(theta, -2.0 * j / n) / factor;
                boolean halves = c.rope() == LlamaConfig.RopeLayout.HALVES;
                int i0 = halves ? head + j : head + 2 * j;
                int i1 = halves ? i0 + n / 2 : i0 + 1;
                double x0 = v[i0];
                double x1 = v[i1];
                v[i0] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                v[i1] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }

    private static double[] mul(FloatTensor m, double[] x, int rows, int cols) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < cols; i++) {
                s += m.get((long) r * cols + i) * x[i];
            }
            out[r] = s;
        }
        return out;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static void add(double[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
