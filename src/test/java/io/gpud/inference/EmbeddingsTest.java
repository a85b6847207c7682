package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.config.EngineConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Embeddings through the scheduler: against llama.cpp's {@code llama-server --embedding
 * --pooling mean} on the random-weight fixtures
 * ({@code src/test/reference/llamacpp/make-embedding-fixtures.py} recorded the vectors), and
 * independent of batching.
 */
class EmbeddingsTest {
    private static final Path COMMITTED = Path.of("src/test/resources/io/gpud/inference/llamacpp");
    /**
     * Largest difference from llama.cpp's vector, relative to its largest component. The
     * committed fixtures' quantized products round activations to 8 bits in llama.cpp (see
     * {@link LlamaCppDifferentialTest}), which moves the hidden state by up to 2% (measured:
     * 1.9% at most); 5% still catches a wrong norm, pooling or position, which moves it by
     * its whole size.
     */
    private static final double QUANTIZED_BOUND = 0.05;
    /**
     * The same on F32 models ({@code GPUD_LLAMACPP_EMBEDDINGS=DIR}, a directory the script
     * wrote from make-model-fixtures.py's F32 models): float32 rounding only (measured: 6e-7).
     */
    private static final double F32_BOUND = 1e-5;
    /**
     * F32 Gemma: llama.cpp's CPU GELU reads a table of half-precision values
     * (GGML_GELU_FP16), so its hidden state differs by that rounding (measured: 3.1e-4).
     */
    private static final double F32_GEMMA_BOUND = 1e-3;

    @TempDir
    Path dir;

    /** Collects one embedding. */
    static final class Result implements EmbeddingListener {
        final CompletableFuture<float[]> vector = new CompletableFuture<>();

        @Override
        public void onEmbedding(float[] values) {
            vector.complete(values);
        }

        @Override
        public void onFailure(RuntimeException error) {
            vector.completeExceptionally(error);
        }

        float[] await() {
            try {
                return vector.get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("no embedding: " + e, e);
            }
        }
    }

    static Result embed(Engine engine, int[] tokens, boolean normalize) {
        var result = new Result();
        assertInstanceOf(Admission.Accepted.class, engine.embed(new EmbeddingRequest("e", tokens, normalize), result));
        return result;
    }

    static Stream<Path> fixtures() throws IOException {
        String override = System.getenv("GPUD_LLAMACPP_EMBEDDINGS");
        Path fixtureDir = override != null ? Path.of(override) : COMMITTED;
        try (Stream<Path> files = Files.list(fixtureDir)) {
            List<Path> models = files.filter(p -> p.toString().endsWith(".embeddings.json")).sorted()
                    .map(p -> p.resolveSibling(p.getFileName().toString().replace(".embeddings.json", ".gguf")))
                    .toList();
            assertFalse(models.isEmpty(), "no embedding fixtures in " + fixtureDir);
            return models.stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void meanPooledVectorsMatchLlamaCpp(Path model) throws IOException {
        JsonNode expected = new ObjectMapper().readTree(
                model.resolveSibling(model.getFileName().toString().replace(".gguf", ".embeddings.json")).toFile());
        String name = model.getFileName().toString();
        double bound = !name.contains("F32") ? QUANTIZED_BOUND : name.startsWith("gemma") ? F32_GEMMA_BOUND : F32_BOUND;
        try (Engine engine = CpuBackend.load(model, null, null, EngineConfig.limits(8, 4, 16))) {
            JsonNode inputs = expected.get("inputs");
            var pending = new ArrayList<Result[]>();
            for (JsonNode input : inputs) {
                int[] tokens = new int[input.size()];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = input.get(i).asInt();
                }
                pending.add(new Result[] {embed(engine, tokens, false), embed(engine, tokens, true)});
            }
            for (int i = 0; i < inputs.size(); i++) {
                for (int kind = 0; kind < 2; kind++) {
                    JsonNode theirs = expected.get(kind == 0 ? "mean" : "normalized").get(i);
                    float[] ours = pending.get(i)[kind].await();
                    assertEquals(theirs.size(), ours.length);
                    double scale = 0;
                    double worst = 0;
                    for (int d = 0; d < ours.length; d++) {
                        scale = Math.max(scale, Math.abs(theirs.get(d).asDouble()));
                        worst = Math.max(worst, Math.abs(theirs.get(d).asDouble() - ours[d]));
                    }
                    System.out.printf("%s input %d %s: largest difference %.2e of %.3f%n", model.getFileName(), i,
                            kind == 0 ? "mean" : "normalized", worst, scale);
                    assertTrue(worst <= bound * scale, model.getFileName() + " input " + i + ": largest difference "
                            + worst + ", bound " + bound + " × " + scale);
                }
            }
        }
    }

    private static int[] tokens(Engine engine, String text) {
        return engine.tokenizer().encode(text, true);
    }

    /**
     * Batched or alone, a text's rows are computed by the same kernels in the same order
     * and pooled in position order, so its vector is the same. Not asserted bit for bit:
     * the first forward passes of a JVM run before the JIT has compiled everything and
     * differ from later ones in the last bit (measured: the same chunking, cold and warm),
     * so the bound is one part in a million of the largest component — a row pooled twice,
     * missed or taken from another sequence moves it by far more.
     */
    @Test
    void embeddingsAreTheSameAloneTwiceOrBatchedWithOthers() {
        // 16 rows per step: the long texts run in chunks, beside each other and a generation
        var config = EngineConfig.limits(16, 6, 64).withMaxBatchTokens(16);
        try (Engine engine = CpuBackend.load(DemoModelFixture.write(dir, io.gpud.model.GgmlType.F32), null, "demo",
                config)) {
            List<int[]> texts = List.of(tokens(engine, "a"), tokens(engine, "Once upon a time there was a cat"),
                    tokens(engine, "The quick brown fox jumps over the lazy dog, again and again and again."),
                    tokens(engine, "Once upon a time there was a dog"), tokens(engine, "x".repeat(100)));
            var alone = new ArrayList<float[]>();
            for (int[] text : texts) {
                alone.add(embed(engine, text, true).await());
            }
            for (int i = 0; i < texts.size(); i++) {
                assertSame(alone.get(i), embed(engine, texts.get(i), true).await(), "text " + i + " twice");
            }
            var generation = new RecordingListener();
            assertInstanceOf(Admission.Accepted.class, engine.submit(new GenerationRequest("g", tokens(engine, "Hello"),
                    40, Sampling.greedy(), List.of(), false), generation));
            var batched = new ArrayList<Result>();
            for (int[] text : texts) {
                batched.add(embed(engine, text, true));
            }
            for (int i = 0; i < texts.size(); i++) {
                assertSame(alone.get(i), batched.get(i).await(), "text " + i + " among the others");
            }
            assertEquals(FinishReason.LENGTH, generation.await().finishReason());
            assertEquals(DemoModel.DIM, alone.get(0).length);
            for (int i = 1; i < alone.size(); i++) {
                assertFalse(java.util.Arrays.equals(alone.get(0), alone.get(i)), "different texts, different vectors");
            }
        }
    }

    private static void assertSame(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-6 * scale, what + ", component " + i);
        }
    }

    @Test
    void normalizedIsTheMeanScaledToUnitLength() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 2)) {
            int[] text = tokens(engine, "Once upon a time");
            float[] mean = embed(engine, text, false).await();
            float[] unit = embed(engine, text, true).await();
            double length = 0;
            for (float v : mean) {
                length += v * v;
            }
            length = Math.sqrt(length);
            assertTrue(length > 0.1, "the mean is not already unit length: " + length);
            double unitLength = 0;
            for (int i = 0; i < mean.length; i++) {
                assertEquals(mean[i] / length, unit[i], 1e-6);
                unitLength += unit[i] * unit[i];
            }
            assertEquals(1.0, unitLength, 1e-5);
        }
    }

    @Test
    void aQueuedEmbeddingCancelsAndBadInputIsRefused() throws Exception {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 1)) {
            var generation = new RecordingListener();
            assertInstanceOf(Admission.Accepted.class, engine.submit(new GenerationRequest("g", tokens(engine, "Hi"),
                    200, Sampling.greedy(), List.of(), false), generation));
            var waiting = new Result();
            var admitted = assertInstanceOf(Admission.Accepted.class,
                    engine.embed(new EmbeddingRequest("w", tokens(engine, "later"), true), waiting));
            admitted.generation().cancel();
            var failure = assertThrows(ExecutionException.class, () -> waiting.vector.get(60, TimeUnit.SECONDS));
            assertTrue(failure.getCause().getMessage().contains("cancelled"), failure.getCause().getMessage());
            assertEquals(FinishReason.LENGTH, generation.await().finishReason());
            assertEquals(DemoModel.DIM, embed(engine, tokens(engine, "after"), true).await().length);

            var outside = assertThrows(IllegalArgumentException.class,
                    () -> engine.embed(new EmbeddingRequest("bad", new int[] {1, DemoModel.VOCAB_SIZE}, true), new Result()));
            assertTrue(outside.getMessage().contains("outside the vocabulary"), outside.getMessage());
            var tooLong = assertThrows(IllegalArgumentException.class, () -> engine.embed(
                    new EmbeddingRequest("long", new int[DemoModel.CONTEXT_LENGTH + 1], true), new Result()));
            assertTrue(tooLong.getMessage().contains("the context holds " + DemoModel.CONTEXT_LENGTH), tooLong.getMessage());
        }
    }

    @Test
    void aBackendThatDoesNotEmbedRefusesByName() {
        Path model = DemoModelFixture.write(dir, io.gpud.model.GgmlType.F32);
        try (Engine engine = DirtyMemory.engine(model, "demo", EngineConfig.limits(4, 1, 16), reason -> { }, "none")) {
            var refused = assertInstanceOf(Admission.Refused.class,
                    engine.embed(new EmbeddingRequest("e", new int[] {1, 5}, true), new Result()));
            assertEquals("the model demo cannot embed: the dirty cpu backend does not compute embeddings",
                    refused.reason());
        }
    }
}
