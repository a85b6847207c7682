package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine against llama.cpp and a float64 forward pass, on tiny random-weight models of
 * each architecture written by llama.cpp's gguf-py and quantized by its llama-quantize
 * ({@code src/test/reference/llamacpp/make-model-fixtures.py}, which also records
 * libllama's greedy ids with an F32 KV cache and its logits of the first steps).
 *
 * <p>Per model: from the recorded prompt, greedy steps where at every step
 * <ul>
 *   <li>our logits equal a {@link Float64Transformer} over the same dequantized weights
 *       within 1e-4 of the largest logit (float32 rounding only);</li>
 *   <li>for the steps llama.cpp's logits were recorded, ours are within 5% of the largest
 *       logit of them: llama.cpp rounds activations to 8 bits before every quantized
 *       product (its vec_dot types), we do not, so it differs by that rounding, not by
 *       arithmetic mistakes (a wrong norm, rotation or mask moves logits by their whole
 *       size);</li>
 *   <li>our greedy id is llama.cpp's, until a step where they differ, which must be a near
 *       tie: our logit of llama.cpp's choice within that same 5% of ours. The sequences part
 *       there and the comparison of ids stops.</li>
 * </ul>
 * The committed fixtures are each architecture in Q4_K_M and llama in Q8_0 and Q4_0 (a few
 * MB); {@code GPUD_LLAMACPP_FIXTURES=DIR} runs the test over a directory the script wrote
 * instead (every architecture in Q4_K_M, Q5_K_M, Q6_K, Q8_0 and Q4_0).
 */
class LlamaCppDifferentialTest {
    private static final Path COMMITTED = Path.of("src/test/resources/io/gpud/inference/llamacpp");
    private static final double EXACT = 1e-4;
    private static final double ACTIVATION_ROUNDING = 0.05;

    static Stream<Path> fixtures() throws IOException {
        String override = System.getenv("GPUD_LLAMACPP_FIXTURES");
        Path dir = override != null ? Path.of(override) : COMMITTED;
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> models = files.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
            assertFalse(models.isEmpty(), "no fixtures in " + dir);
            return models.stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void greedyIdsAndLogitsMatchLlamaCppAndFloat64(Path file) throws IOException {
        JsonNode expected = new ObjectMapper().readTree(
                file.resolveSibling(file.getFileName().toString().replace(".gguf", ".json")).toFile());
        int[] prompt = ints(expected.get("prompt"));
        int[] theirIds = ints(expected.get("ids"));
        JsonNode theirLogits = expected.get("logits");

        try (LoadedModel model = LlamaLoader.load(file, null, file.getFileName().toString(), 0);
             Llama.State state = model.llama().newState(model.llama().config().contextLength())) {
            Llama llama = model.llama();
            var reference = new Float64Transformer(llama.config(), llama.weights());
            float[] logits = null;
            double[] exact = null;
            for (int pos = 0; pos < prompt.length; pos++) {
                logits = llama.forward(state, prompt[pos], pos);
                exact = reference.forward(prompt[pos], pos);
            }
            int agreed = 0;
            double worstExact = 0;
            double worstLlamaCpp = 0;
            for (int step = 0; step < theirIds.length; step++) {
                double scale = Math.max(1, maxAbs(exact));
                worstExact = Math.max(worstExact, maxDifference(logits, exact) / scale);
                assertTrue(maxDifference(logits, exact) <= EXACT * scale,
                        file + " step " + step + ": float64 reference differs by " + maxDifference(logits, exact));
                if (step < theirLogits.size()) {
                    double[] theirs = doubles(theirLogits.get(step));
                    worstLlamaCpp = Math.max(worstLlamaCpp, maxDifference(logits, theirs) / scale);
                    assertTrue(maxDifference(logits, theirs) <= ACTIVATION_ROUNDING * scale,
                            file + " step " + step + ": llama.cpp's logits differ by " + maxDifference(logits, theirs)
                                    + " (largest logit " + scale + ")");
                }
                int ours = argmax(logits);
                if (ours != theirIds[step]) {
                    double gap = logits[ours] - logits[theirIds[step]];
                    assertTrue(gap <= ACTIVATION_ROUNDING * scale, file + " step " + step + ": we chose " + ours
                            + ", llama.cpp " + theirIds[step] + ", " + gap + " apart in our logits: not a near tie");
                    break;
                }
                agreed++;
                int pos = prompt.length + step;
                logits = llama.forward(state, ours, pos);
                exact = reference.forward(ours, pos);
            }
            System.out.printf("%s: %d of %d greedy ids as llama.cpp; largest difference to float64 %.2e, "
                    + "to llama.cpp %.2e (of the largest logit)%n", file.getFileName(), agreed, theirIds.length,
                    worstExact, worstLlamaCpp);
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    private static double maxDifference(float[] a, double[] b) {
        assertEquals(b.length, a.length, "vocabulary sizes");
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }
}
