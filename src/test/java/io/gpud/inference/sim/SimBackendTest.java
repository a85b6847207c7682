package io.gpud.inference.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.ConfigException;
import io.gpud.config.EngineConfig;
import io.gpud.inference.Admission;
import io.gpud.inference.Completion;
import io.gpud.inference.DemoModel;
import io.gpud.inference.EmbeddingRequest;
import io.gpud.inference.EmbeddingListener;
import io.gpud.inference.Engine;
import io.gpud.inference.FinishReason;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.LlamaModel;
import io.gpud.inference.PrefixCacheView;
import io.gpud.inference.Sampling;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulated GPU under the real engine scheduler, on a clock that advances only by the
 * steps' own waits: each step waits exactly what the profile says, admission and queueing
 * are the scheduler's, the prefix cache shortens prefill, replies are the requested length.
 */
class SimBackendTest {
    private static final SimProfile FP16 = SimProfile.named(EngineConfig.DEFAULT_SIM_PROFILE);

    @TempDir
    static Path dir;
    private static Path model;

    private final FakeTime time = new FakeTime();

    @BeforeAll
    static void writeDemoModel() {
        model = dir.resolve("demo.gguf");
        DemoModel.write(model, 42);
    }

    private static EngineConfig config(int queueCapacity, int maxConcurrent, int maxBatchTokens) {
        return EngineConfig.limits(queueCapacity, maxConcurrent, 64).withMaxBatchTokens(maxBatchTokens)
                .withBackend(EngineConfig.Backend.SIM);
    }

    private Engine engine(EngineConfig config) {
        return SimBackend.start(model, null, "demo", config, time, reason -> { });
    }

    /** Prompt token ids from the demo model's byte tokens, different for each seed. */
    private static int[] prompt(int length, long seed) {
        var random = new SplittableRandom(seed);
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = DemoModel.BYTE_TOKEN_OFFSET + 'a' + random.nextInt(26);
        }
        return tokens;
    }

    private static GenerationRequest request(int[] prompt, int maxTokens) {
        return new GenerationRequest("r", prompt, maxTokens, Sampling.greedy(), List.of(), false);
    }

    @Test
    void eachStepWaitsWhatTheProfileSays() throws Exception {
        try (Engine engine = engine(config(4, 4, 64))) {
            Reply reply = Reply.submit(engine, request(prompt(100, 1), 5));
            Completion done = reply.await();
            assertEquals(FinishReason.LENGTH, done.finishReason());
            // prompt chunks of 64 and 36 rows, then four decode steps at positions 100 to 103
            assertEquals(List.of(FP16.prefillNanos(0, 64), FP16.prefillNanos(64, 100),
                    FP16.decodeStepNanos(1, 101), FP16.decodeStepNanos(1, 102), FP16.decodeStepNanos(1, 103),
                    FP16.decodeStepNanos(1, 104)), time.sleeps());
            assertEquals(FP16.prefillNanos(0, 64) + FP16.prefillNanos(64, 100), done.promptNanos());
        }
    }

    @Test
    void repliesAreTheRequestedLengthOfPlainTextTheSameForTheSamePrompt() throws Exception {
        try (Engine engine = engine(config(4, 4, 256))) {
            Reply first = Reply.submit(engine, request(prompt(40, 2), 32));
            Reply again = Reply.submit(engine, new GenerationRequest("r", prompt(40, 2), 32,
                    new Sampling(1.5f, 0.9f, 40, 7), List.of(), false));
            Reply other = Reply.submit(engine, request(prompt(40, 3), 32));
            assertEquals(32, first.await().completionTokens());
            again.await();
            other.await();
            assertEquals(32, first.tokens.size());
            assertEquals(first.tokens, again.tokens, "sampling settings cannot pick another token");
            assertNotEquals(first.tokens, other.tokens);
            assertTrue(first.text().matches("[A-Za-z0-9 .,;:!?'-]+"), first.text());
        }
    }

    @Test
    void aCachedPrefixIsNotPrefilledAgain() throws Exception {
        try (Engine engine = engine(config(4, 4, 256))) {
            int[] prompt = prompt(100, 4);
            Reply.submit(engine, request(prompt, 3)).await();
            int afterFirst = time.sleeps().size();
            Reply.submit(engine, request(prompt, 3)).await();
            // six whole blocks of 16 are reused; rows 96 to 99 attend to all 100 positions
            long reused = time.sleeps().get(afterFirst);
            assertEquals(FP16.prefillNanos(96, 100), reused);
            assertTrue(reused < FP16.prefillNanos(0, 100), reused + " ns");
            PrefixCacheView.Stats stats = engine.prefixCache().orElseThrow().stats();
            assertEquals(96, stats.hitTokens());
            assertEquals(200, stats.promptTokens());
        }
        try (Engine engine = engine(config(4, 4, 256).withPrefixCaching(false))) {
            int[] prompt = prompt(100, 4);
            Reply.submit(engine, request(prompt, 3)).await();
            Reply.submit(engine, request(prompt, 3)).await();
            assertEquals(FP16.prefillNanos(0, 100), time.sleeps().get(time.sleeps().size() - 3));
        }
    }

    @Test
    void aFullEngineQueuesThenRejects() throws Exception {
        try (Engine engine = engine(config(1, 1, 64))) {
            time.hold();
            Reply running = Reply.submit(engine, request(prompt(10, 5), 4));
            time.awaitSleeping();
            Reply queued = Reply.submit(engine, request(prompt(10, 6), 4));
            var rejected = assertInstanceOf(Admission.Rejected.class,
                    engine.submit(request(prompt(10, 7), 4), new Reply()));
            assertTrue(rejected.reason().contains("full"), rejected.reason());
            assertEquals(1, engine.queueDepth());
            time.run();
            assertEquals(FinishReason.LENGTH, running.await().finishReason());
            assertEquals(FinishReason.LENGTH, queued.await().finishReason());
        }
    }

    /** Two sequences of 100,000 positions each do not fit the L40S's KV memory at once: the second waits. */
    @Test
    void aSequenceWaitsForKvMemory() throws Exception {
        long capacity = FP16.kvCapacityTokens();
        assertTrue(capacity < 200_000 && capacity > 100_000, capacity + " tokens");
        try (Engine engine = engine(config(4, 2, 64))) {
            time.hold();
            Reply first = Reply.submit(engine, request(prompt(1, 8), 99_999));
            time.awaitSleeping();
            Reply second = Reply.submit(engine, request(prompt(1, 9), 99_999));
            time.step();
            time.awaitSleeping();
            assertEquals(1, engine.queueDepth(), "room for two sequences, memory for one");
            first.generation.cancel();
            time.step();
            time.awaitSleeping(); // the first leaves, the second is admitted and runs
            assertEquals(0, engine.queueDepth());
            second.generation.cancel();
            time.run();
            assertEquals(FinishReason.CANCELLED, first.await().finishReason());
            assertEquals(FinishReason.CANCELLED, second.await().finishReason());
        }
    }

    @Test
    void embeddingsAreRefusedNamingTheSimulation() {
        try (Engine engine = engine(config(4, 4, 64))) {
            assertFalse(engine.embeds());
            var refused = assertInstanceOf(Admission.Refused.class,
                    engine.embed(new EmbeddingRequest("e", prompt(4, 1), true), new EmbeddingListener() {
                        @Override
                        public void onEmbedding(float[] vector) {
                            throw new AssertionError("no embedding expected");
                        }

                        @Override
                        public void onFailure(RuntimeException error) {
                            throw new AssertionError(error);
                        }
                    }));
            assertTrue(refused.reason().contains("simulated GPU"), refused.reason());
        }
    }

    @Test
    void theModelFileGivesTokenizerAndNameTheProfileTheRest() {
        try (Engine engine = engine(config(4, 4, 64));
             LlamaModel file = LlamaModel.load(model, null, "demo")) {
            assertEquals("demo", engine.info().name());
            assertEquals(DemoModel.VOCAB_SIZE, engine.info().vocabSize());
            assertEquals("sim:fp16", engine.info().weightType());
            assertEquals(8_030_000_000L, engine.info().parameters());
            assertEquals(131_072, engine.info().contextLength());
            assertEquals("sim NVIDIA L40S (simulated, l40s-llama-3.1-8b-fp16)", engine.device());
            String text = "<|im_start|>user\nHow are you?<|im_end|>\n";
            assertArrayEquals(file.tokenizer().encode(text, true), engine.tokenizer().encode(text, true));
            assertEquals(file.chatTemplate().getClass(), engine.chatTemplate().getClass());
        }
    }

    @Test
    void anUnknownProfileIsRefusedNamingTheKnownOnes() {
        var config = new EngineConfig(4, 4, 64, 1, 1L << 30, 64, EngineConfig.Backend.SIM, true, 16, "h100-llama");
        var e = assertThrows(ConfigException.class, () -> engine(config));
        assertEquals("engine.simProfile was 'h100-llama', must be one of l40s-llama-3.1-8b-fp16, "
                + "l40s-llama-3.1-8b-int4", e.getMessage());
    }

    /** Collects one generation's tokens and end. */
    static final class Reply implements GenerationListener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<Completion> done = new CompletableFuture<>();
        io.gpud.inference.Generation generation;

        static Reply submit(Engine engine, GenerationRequest request) {
            var reply = new Reply();
            var admission = assertInstanceOf(Admission.Accepted.class, engine.submit(request, reply));
            reply.generation = admission.generation();
            return reply;
        }

        @Override
        public synchronized void onToken(int token, String piece) {
            tokens.add(token);
            text.append(piece);
        }

        @Override
        public void onDone(Completion completion) {
            done.complete(completion);
        }

        @Override
        public void onFailure(RuntimeException error) {
            done.completeExceptionally(error);
        }

        Completion await() throws Exception {
            return done.get(60, TimeUnit.SECONDS);
        }

        synchronized String text() {
            return text.toString();
        }
    }
}
