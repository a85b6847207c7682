package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.EngineConfig;
import io.gpud.model.GgmlType;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The scheduler over the CPU backend and over a backend that finds dirty memory. */
class EngineSchedulerTest {
    @TempDir
    Path dir;

    private static final int DIM = 64;

    /** 64 tokens take the classifier through the interleaved rows; 2048 (131,072 weights) through rows in order. */
    static Stream<Arguments> typesAndVocabularies() {
        return Stream.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0)
                .flatMap(type -> Stream.of(Arguments.of(type, 64), Arguments.of(type, 2048)));
    }

    private static EngineConfig config(int maxBatchTokens, long kvCacheBytes) {
        return new EngineConfig(4, 2, 16, 1, kvCacheBytes, maxBatchTokens, EngineConfig.Backend.CPU);
    }

    private Engine engine(Path model, int maxBatchTokens) {
        return CpuBackend.load(model, null, "m", config(maxBatchTokens, 1L << 26));
    }

    private static int[] prompt(int length, int vocab) {
        return IntStream.range(0, length).map(i -> 1 + (i * 7) % (vocab - 1)).toArray();
    }

    private static RecordingListener generate(Engine engine, int[] prompt, int maxTokens) {
        var listener = new RecordingListener();
        var request = new GenerationRequest("r", prompt, maxTokens, Sampling.greedy(), List.of(), true);
        assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
        listener.await();
        return listener;
    }

    /**
     * A fresh engine's first request has a prompt longer than one step takes: its first
     * chunks need no logits. It once crashed (the classifier ran on a batch of none and read
     * a row that was not there) on the rows-in-order path.
     */
    @ParameterizedTest(name = "{0}, vocabulary {1}")
    @MethodSource("typesAndVocabularies")
    void aLongFirstPromptOnAFreshEngineGivesTheSameTokensAsOneChunk(GgmlType type, int vocab) {
        Path model = SimModels.write(dir.resolve(type + "-" + vocab + ".gguf"), type, DIM, 128, 1, 4, 2, vocab, null, 3);
        int[] prompt = prompt(100, vocab);
        List<Integer> chunked;
        try (Engine engine = engine(model, 16)) {
            RecordingListener listener = generate(engine, prompt, 8);
            assertEquals(FinishReason.LENGTH, listener.await().finishReason(), "the request failed or stopped early");
            chunked = List.copyOf(listener.tokens);
        }
        try (Engine engine = engine(model, 128)) {
            assertEquals(generate(engine, prompt, 8).tokens, chunked, "prompt in chunks of 16 vs in one step");
        }
    }

    /** A forward pass whose rows all continue a prompt computes no logits and leaves the last ones as they were. */
    @Test
    void aPromptChunkComputesNoLogits() {
        Path file = SimModels.write(dir.resolve("m.gguf"), GgmlType.F32, DIM, 128, 1, 4, 2, 2048, null, 5);
        LoadedModel model = LlamaLoader.load(file, null, "m", 0);
        try (model; var threads = new Parallel(1)) {
            Llama llama = model.llama();
            Llama.Workspace ws = llama.new Workspace(4, 2, threads);
            try (Llama.KvCache cache = llama.new KvCache(8)) {
                Llama.KvCache[] caches = {cache, cache, cache, cache};
                llama.forward(ws, 1, new int[] {1}, new int[] {0}, caches, new int[] {0}, 1);
                float[] sentinel = new float[2048];
                Arrays.fill(sentinel, 12345f);
                System.arraycopy(sentinel, 0, ws.logits[0], 0, sentinel.length);
                llama.forward(ws, 3, new int[] {2, 3, 4}, new int[] {1, 2, 3}, caches, new int[2], 0);
                assertTrue(Arrays.equals(sentinel, ws.logits[0]), "a chunk without logit rows wrote logits");
            }
        }
    }

    @Test
    void aRequestWhoseCacheExceedsTheWholeBudgetIsRefusedWithTheNumbers() {
        Path model = SimModels.write(dir.resolve("m.gguf"), GgmlType.F32, DIM, 128, 1, 4, 2, 64, null, 7);
        long perPosition = 2L * DIM / 2 * Float.BYTES; // keys and values of one layer, kvDim = 32
        try (Engine engine = CpuBackend.load(model, null, "m", config(16, 40 * perPosition))) {
            var request = new GenerationRequest("r", prompt(30, 64), 20, Sampling.greedy(), List.of(), true);
            var refused = assertInstanceOf(Admission.Refused.class, engine.submit(request, new RecordingListener()));
            assertTrue(refused.reason().contains(50 * perPosition + " bytes of KV cache for 50 positions"),
                    refused.reason());
            assertTrue(refused.reason().contains("the engine has " + 40 * perPosition), refused.reason());
            assertEquals(0, engine.inFlight());
            assertEquals(FinishReason.LENGTH, generate(engine, prompt(30, 64), 10).await().finishReason(),
                    "a request that fits still runs");
        }
    }

    /**
     * A backend that finds memory not clean when a sequence leaves: the engine takes itself
     * out of service, tells the listener once, fails what waited and rejects what comes.
     */
    @Test
    void dirtyMemoryQuarantinesTheEngine() {
        Path file = SimModels.write(dir.resolve("m.gguf"), GgmlType.F32, DIM, 128, 1, 4, 2, 64, null, 9);
        LoadedModel model = LlamaLoader.load(file, null, "m", Clock.systemUTC().instant().getEpochSecond());
        var heard = new CopyOnWriteArrayList<String>();
        EngineConfig config = new EngineConfig(4, 1, 16, 1, 1L << 26, 16, EngineConfig.Backend.CPU);
        try (Engine engine = EngineScheduler.start("dirty", config, System::nanoTime, heard::add,
                () -> new DirtyMemory(new CpuBackend(model, config), "2 non-zero words in the slot"))) {
            var secondQueued = new CountDownLatch(1);
            var first = new RecordingListener() {
                @Override
                public synchronized void onToken(int token, String piece) {
                    // holds the scheduler at the first token until the second request waits behind it
                    awaitUninterruptibly(secondQueued);
                    super.onToken(token, piece);
                }
            };
            var waiting = new RecordingListener();
            var request = new GenerationRequest("r", prompt(4, 64), 3, Sampling.greedy(), List.of(), true);
            assertInstanceOf(Admission.Accepted.class, engine.submit(request, first));
            assertInstanceOf(Admission.Accepted.class, engine.submit(request, waiting));
            secondQueued.countDown();
            assertEquals(FinishReason.LENGTH, first.await().finishReason(), "the sequence itself completes");
            Throwable failure = waiting.awaitFailure();
            assertTrue(failure.getMessage().contains("quarantined"), "the queued request fails: " + failure);
            assertEquals(List.of("2 non-zero words in the slot"), heard);
            assertEquals(Optional.of("2 non-zero words in the slot"), engine.quarantineReason());
            var rejected = assertInstanceOf(Admission.Rejected.class, engine.submit(request, new RecordingListener()));
            assertTrue(rejected.reason().contains("quarantined"), rejected.reason());
        }
        assertEquals(1, heard.size(), "told once");
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
