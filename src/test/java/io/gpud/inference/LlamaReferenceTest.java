package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gpud.model.GgmlType;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The float32 forward pass against a plain float64 one written straight from the math, with
 * no shared code except reading the weights: logits must agree closely at every position.
 */
class LlamaReferenceTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void forwardMatchesFloat64Reference(GgmlType type) {
        LoadedModel model = LlamaLoader.load(DemoModelFixture.write(dir, type), null, "demo", 0);
        Llama llama = model.llama();
        try (model; Llama.State state = llama.newState(llama.config().contextLength())) {
            var reference = new Float64Llama(llama.config(), llama.weights());
            int[] tokens = model.tokenizer().encode("The quick brown fox jumps", true);
            for (int pos = 0; pos < tokens.length; pos++) {
                float[] actual = llama.forward(state, tokens[pos], pos);
                double[] expected = reference.forward(tokens[pos], pos);
                double maxAbs = 0;
                for (double e : expected) {
                    maxAbs = Math.max(maxAbs, Math.abs(e));
                }
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], actual[i], 1e-4 * Math.max(1, maxAbs),
                            "logit " + i + " at position " + pos);
                }
                assertEquals(argmax(expected), Sampler.argmax(actual), "argmax at position " + pos);
            }
        }
    }

    /**
     * A llama whose matrices mix Q4_K, Q6_K and Q5_0 as the Q4_K_M preset does, quantized by
     * ggml's reference quantizers (src/test/reference/quants/make-quant-fixtures.py), loads
     * and runs.
     */
    @Test
    void referenceQuantizedMixLoadsAndMatchesFloat64Reference() throws URISyntaxException {
        Path file = Path.of(LlamaReferenceTest.class.getResource("quants/quant-mix.gguf").toURI());
        LoadedModel model = LlamaLoader.load(file, null, "quant-mix", 0);
        Llama llama = model.llama();
        try (model; Llama.State state = llama.newState(llama.config().contextLength())) {
            assertEquals("Q4_K", model.info().weightType());
            var reference = new Float64Llama(llama.config(), llama.weights());
            for (int pos = 0; pos < 6; pos++) {
                int token = 5 + pos * 41;
                assertClose(reference.forward(token, pos), llama.forward(state, token, pos), pos);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"F32, false", "F16, true", "BF16, false"})
    void safetensorsForwardMatchesFloat64Reference(GgmlType type, boolean sharded) {
        Path hf = SafetensorsFixture.convert(DemoModelFixture.write(dir, GgmlType.F32), dir.resolve("hf"), type, sharded);
        LoadedModel model = LlamaLoader.load(hf, null, "demo", 0);
        Llama llama = model.llama();
        assertEquals(LlamaConfig.RopeLayout.HALVES, llama.config().rope());
        try (model; Llama.State state = llama.newState(llama.config().contextLength())) {
            var reference = new Float64Llama(llama.config(), llama.weights());
            for (int pos = 0; pos < 6; pos++) {
                int token = 3 + pos * 17;
                assertClose(reference.forward(token, pos), llama.forward(state, token, pos), pos);
            }
        }
    }

    /** The same weights as GGUF (RoPE on adjacent pairs, rows permuted) and as Hugging Face give the same logits. */
    @Test
    void safetensorsAndGgufOfTheSameWeightsAgree() {
        Path gguf = DemoModelFixture.write(dir, GgmlType.F32);
        Path hf = SafetensorsFixture.convert(gguf, dir.resolve("hf"), GgmlType.F32, false);
        try (LoadedModel a = LlamaLoader.load(gguf, null, "gguf", 0); LoadedModel b = LlamaLoader.load(hf, null, "hf", 0);
             Llama.State sa = a.llama().newState(8); Llama.State sb = b.llama().newState(8)) {
            for (int pos = 0; pos < 8; pos++) {
                int token = 3 + pos * 29;
                float[] la = a.llama().forward(sa, token, pos);
                float[] lb = b.llama().forward(sb, token, pos);
                for (int i = 0; i < la.length; i++) {
                    assertEquals(la[i], lb[i], 1e-5 * Math.max(1, Math.abs(la[i])), "logit " + i + " at " + pos);
                }
            }
        }
    }

    private static void assertClose(double[] expected, float[] actual, int pos) {
        double maxAbs = 0;
        for (double e : expected) {
            maxAbs = Math.max(maxAbs, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4 * Math.max(1, maxAbs), "logit " + i + " at position " + pos);
        }
        assertEquals(argmax(expected), Sampler.argmax(actual), "argmax at position " + pos);
    }

    private static int argmax(double[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The transformer in float64, every loop spelled out, no caching beyond the KV cache. */
    private static final class Float64Llama {
        private final LlamaConfig c;
        private final LlamaWeights w;
        private final double[][][] keys;   // (layer, position, kvDim)
        private final double[][][] values; // (layer, position, kvDim)

        Float64Llama(LlamaConfig c, LlamaWeights w) {
            this.c = c;
            this.w = w;
            keys = new double[c.layers()][c.contextLength()][];
            values = new double[c.layers()][c.contextLength()][];
        }

        double[] forward(int token, int pos) {
            int dim = c.dim();
            int hs = c.headSize();
            double[] x = new double[dim];
            for (int i = 0; i < dim; i++) {
                x[i] = w.tokenEmbedding().get((long) token * dim + i);
            }
            for (int l = 0; l < c.layers(); l++) {
                double[] xn = rms(x, w.rmsAttention()[l]);
                double[] q = mul(w.wq()[l], xn, dim, dim);
                double[] k = mul(w.wk()[l], xn, c.kvDim(), dim);
                double[] v = mul(w.wv()[l], xn, c.kvDim(), dim);
                rotate(q, pos);
                rotate(k, pos);
                keys[l][pos] = k;
                values[l][pos] = v;
                double[] out = new double[dim];
                for (int h = 0; h < c.heads(); h++) {
                    int kvHead = h / (c.heads() / c.kvHeads());
                    double[] scores = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t <= pos; t++) {
                        double s = 0;
                        for (int i = 0; i < hs; i++) {
                            s += q[h * hs + i] * keys[l][t][kvHead * hs + i];
                        }
                        scores[t] = s / Math.sqrt(hs);
                        max = Math.max(max, scores[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t <= pos; t++) {
                        scores[t] = Math.exp(scores[t] - max);
                        sum += scores[t];
                    }
                    for (int t = 0; t <= pos; t++) {
                        for (int i = 0; i < hs; i++) {
                            out[h * hs + i] += scores[t] / sum * values[l][t][kvHead * hs + i];
                        }
                    }
                }
                add(x, mul(w.wo()[l], out, dim, dim));
                xn = rms(x, w.rmsFfn()[l]);
                double[] gate = mul(w.w1()[l], xn, c.hiddenDim(), dim);
                double[] up = mul(w.w3()[l], xn, c.hiddenDim(), dim);
                for (int i = 0; i < gate.length; i++) {
                    gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                add(x, mul(w.w2()[l], gate, dim, c.hiddenDim()));
            }
            return mul(w.classifier(), rms(x, w.rmsFinal()), c.vocabSize(), dim);
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

        private void rotate(double[] v, int pos) {
            int hs = c.headSize();
            for (int head = 0; head < v.length; head += hs) {
                for (int j = 0; j < hs / 2; j++) {
                    double angle = pos * Math.pow(c.ropeTheta(), -2.0 * j / hs);
                    int i0 = c.rope() == LlamaConfig.RopeLayout.HALVES ? head + j : head + 2 * j;
                    int i1 = c.rope() == LlamaConfig.RopeLayout.HALVES ? i0 + hs / 2 : i0 + 1;
                    double a = v[i0];
                    double b = v[i1];
                    v[i0] = a * Math.cos(angle) - b * Math.sin(angle);
                    v[i1] = a * Math.sin(angle) + b * Math.cos(angle);
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
    }
}
