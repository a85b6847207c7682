package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.EngineConfig;
import io.gpud.model.GgmlType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpuEngineTest {
    @TempDir
    Path dir;

    private static GenerationRequest request(Engine engine, String prompt, int maxTokens, Sampling sampling,
                                             List<String> stop) {
        return new GenerationRequest("r", engine.tokenizer().encode(prompt, true), maxTokens, sampling, stop, false);
    }

    private static RecordingListener run(Engine engine, GenerationRequest request) {
        var listener = new RecordingListener();
        assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
        listener.await();
        return listener;
    }

    @Test
    void greedyIsDeterministicAndEndsAtMaxTokens() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 2)) {
            var first = run(engine, request(engine, "Once upon a time", 40, Sampling.greedy(), List.of()));
            var second = run(engine, request(engine, "Once upon a time", 40, Sampling.greedy(), List.of()));
            assertArrayEquals(first.tokenArray(), second.tokenArray());
            assertEquals(first.text(), second.text());
            Completion completion = first.await();
            assertEquals(FinishReason.LENGTH, completion.finishReason());
            assertEquals(40, completion.completionTokens());
            assertEquals(engine.tokenizer().encode("Once upon a time", true).length, completion.promptTokens());
            assertEquals(engine.tokenizer().decode(first.tokenArray()), first.text());
            assertTrue(first.text().chars().allMatch(c -> c == '\n' || (c >= 0x20 && c < 0x7F)), first.text());
        }
    }

    @Test
    void seededSamplingReplays() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 2)) {
            var sampling = new Sampling(0.9f, 0.95f, 0, 77);
            var first = run(engine, request(engine, "abc", 30, sampling, List.of()));
            var second = run(engine, request(engine, "abc", 30, sampling, List.of()));
            assertArrayEquals(first.tokenArray(), second.tokenArray());
        }
    }

    @Test
    void f16WeightsLoadAndGenerate() {
        Path file = DemoModelFixture.write(dir, GgmlType.F16);
        try (Engine engine = CpuBackend.load(file, null, null, EngineConfig.limits(1, 1, 16))) {
            assertEquals("F16", engine.info().weightType());
            assertEquals("demo-F16", engine.info().name());
            assertEquals(DemoModel.VOCAB_SIZE, engine.info().vocabSize());
            var result = run(engine, request(engine, "hi", 10, Sampling.greedy(), List.of()));
            assertEquals(10, result.tokens.size());
        }
    }

    @Test
    void stopSequenceEndsGenerationAndIsNotEmitted() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 1)) {
            String full = run(engine, request(engine, "Hello", 60, Sampling.greedy(), List.of())).text();
            assertTrue(full.length() > 20, full);
            String stop = full.substring(10, 13);
            String expected = full.substring(0, full.indexOf(stop));
            var stopped = run(engine, request(engine, "Hello", 60, Sampling.greedy(), List.of(stop)));
            assertEquals(expected, stopped.text());
            assertEquals(FinishReason.STOP, stopped.await().finishReason());
            assertTrue(stopped.tokens.size() < 60);
        }
    }

    @Test
    void contextFullEndsWithLength() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 1)) {
            int[] prompt = new int[DemoModel.CONTEXT_LENGTH - 2];
            java.util.Arrays.fill(prompt, DemoModel.BYTE_TOKEN_OFFSET + 'a');
            prompt[0] = 1;
            var listener = run(engine, new GenerationRequest("ctx", prompt, 50, Sampling.greedy(), List.of(), false));
            Completion completion = listener.await();
            assertEquals(FinishReason.LENGTH, completion.finishReason());
            assertEquals(3, completion.completionTokens());
        }
    }

    @Test
    void cancellationStopsAtTheNextStep() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 1)) {
            var listener = new RecordingListener() {
                Generation generation;

                @Override
                public synchronized void onToken(int token, String piece) {
                    super.onToken(token, piece);
                    if (tokens.size() == 3) {
                        // The engine may reach here before submit() returned the handle.
                        while (generation == null) {
                            try {
                                wait();
                            } catch (InterruptedException e) {
                                throw new IllegalStateException(e);
                            }
                        }
                        generation.cancel();
                    }
                }
            };
            var admission = engine.submit(request(engine, "x", 60, Sampling.greedy(), List.of()), listener);
            synchronized (listener) {
                listener.generation = ((Admission.Accepted) admission).generation();
                listener.notifyAll();
            }
            Completion completion = listener.await();
            assertEquals(FinishReason.CANCELLED, completion.finishReason());
            assertEquals(3, completion.completionTokens());
        }
    }

    @Test
    void fullQueueIsRejectedAndCountsAreAccurate() throws InterruptedException {
        try (Engine engine = DemoModelFixture.engine(dir, 1, 1)) {
            var started = new CountDownLatch(1);
            var release = new CountDownLatch(1);
            var blocking = new RecordingListener() {
                @Override
                public synchronized void onToken(int token, String piece) {
                    super.onToken(token, piece);
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            };
            assertInstanceOf(Admission.Accepted.class,
                    engine.submit(request(engine, "a", 2, Sampling.greedy(), List.of()), blocking));
            assertTrue(started.await(30, TimeUnit.SECONDS));
            var queued = new RecordingListener();
            var queuedAdmission = engine.submit(request(engine, "b", 2, Sampling.greedy(), List.of()), queued);
            assertInstanceOf(Admission.Accepted.class, queuedAdmission);
            assertEquals(2, engine.inFlight());
            assertEquals(1, engine.queueDepth());

            var rejected = engine.submit(request(engine, "c", 2, Sampling.greedy(), List.of()), new RecordingListener());
            var refusal = assertInstanceOf(Admission.Rejected.class, rejected);
            assertEquals(Duration.ofSeconds(1), refusal.retryAfter());

            ((Admission.Accepted) queuedAdmission).generation().cancel();
            assertEquals(FinishReason.CANCELLED, queued.await().finishReason());
            assertEquals(0, engine.queueDepth());
            release.countDown();
            assertEquals(FinishReason.LENGTH, blocking.await().finishReason());
        }
    }

    @Test
    void closeCancelsQueuedWorkAndRejectsNewWork() {
        Engine engine = DemoModelFixture.engine(dir, 8, 1);
        var first = new RecordingListener();
        var second = new RecordingListener();
        engine.submit(request(engine, "a", 400, Sampling.greedy(), List.of()), first);
        engine.submit(request(engine, "b", 400, Sampling.greedy(), List.of()), second);
        GenerationRequest later = request(engine, "c", 4, Sampling.greedy(), List.of());
        engine.close();
        assertEquals(FinishReason.CANCELLED, second.await().finishReason());
        assertTrue(first.await().finishReason() != null);
        assertInstanceOf(Admission.Rejected.class, engine.submit(later, new RecordingListener()));
        assertEquals(0, engine.inFlight());
    }

    @Test
    void badRequestsAreRefusedAtSubmit() {
        try (Engine engine = DemoModelFixture.engine(dir, 1, 1)) {
            var outside = new GenerationRequest("r", new int[] {1, DemoModel.VOCAB_SIZE}, 1, Sampling.greedy(), List.of(),
                    false);
            assertThrows(IllegalArgumentException.class, () -> engine.submit(outside, new RecordingListener()));
            var tooLong = new GenerationRequest("r", new int[DemoModel.CONTEXT_LENGTH + 1], 1, Sampling.greedy(),
                    List.of(), false);
            assertThrows(IllegalArgumentException.class, () -> engine.submit(tooLong, new RecordingListener()));
        }
    }
}
