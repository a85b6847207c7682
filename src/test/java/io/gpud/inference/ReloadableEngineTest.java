package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.EngineConfig;
import io.gpud.model.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloadableEngineTest {
    @TempDir
    Path dir;

    private Engine open(Path file) {
        return CpuBackend.load(file, null, "demo", EngineConfig.limits(64, 8, 64));
    }

    private static List<RecordingListener> submit(Engine engine, int n, int maxTokens) {
        var out = new ArrayList<RecordingListener>();
        for (int i = 0; i < n; i++) {
            var listener = new RecordingListener();
            assertInstanceOf(Admission.Accepted.class, engine.submit(new GenerationRequest("r" + i,
                    new int[] {1, 2 + i}, maxTokens, Sampling.greedy(), List.of(), true), listener));
            out.add(listener);
        }
        return out;
    }

    @Test
    void besideSwapFinishesInFlightOnTheOldAndSendsNewWorkToTheNew() throws Exception {
        Path file = DemoModelFixture.write(dir, GgmlType.F32);
        Engine v1 = open(file);
        var engine = new ReloadableEngine(v1, "v1", 16);
        List<RecordingListener> before = submit(engine, 4, 48);
        Engine v2 = open(file);
        var swap = CompletableFuture.runAsync(() -> {
            try {
                engine.swapBeside(v2, "v2");
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        List<RecordingListener> after = submit(engine, 4, 8);
        swap.get();
        assertEquals("v2", engine.serving().version());
        for (RecordingListener l : before) {
            assertEquals(FinishReason.LENGTH, l.await().finishReason());
            assertEquals(48, l.tokens.size());
        }
        for (RecordingListener l : after) {
            assertEquals(FinishReason.LENGTH, l.await().finishReason());
        }
        assertInstanceOf(Admission.Rejected.class, v1.submit(new GenerationRequest("late", new int[] {1}, 1,
                Sampling.greedy(), List.of(), true), new RecordingListener()), "the old engine is closed");
        assertEquals(0, engine.inFlight());
        engine.close();
    }

    @Test
    void drainingSwapHoldsNewRequestsAndRunsThemOnTheNewEngine() throws Exception {
        Path file = DemoModelFixture.write(dir, GgmlType.F32);
        var engine = new ReloadableEngine(open(file), "v1", 16);
        List<RecordingListener> before = submit(engine, 3, 48);
        var opened = new CompletableFuture<Void>();
        var held = new ArrayList<RecordingListener>();
        var swap = CompletableFuture.supplyAsync(() -> {
            try {
                return engine.swapDraining(() -> {
                    opened.complete(null);
                    return new ReloadableEngine.Serving(open(file), "v2");
                }, () -> {
                    throw new AssertionError("fallback not expected");
                }, e -> {
                    throw new AssertionError(e);
                });
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        while (!swap.isDone() && held.size() < 3) {
            // requests submitted during the swap are admitted (held or, once it is over, run)
            held.addAll(submit(engine, 1, 8));
        }
        assertTrue(swap.get(), "the new engine serves");
        assertTrue(opened.isDone());
        for (RecordingListener l : before) {
            assertEquals(48, l.await().completionTokens());
        }
        for (RecordingListener l : held) {
            assertEquals(FinishReason.LENGTH, l.await().finishReason());
        }
        assertEquals("v2", engine.serving().version());
        engine.close();
    }

    @Test
    void whenTheNewEngineCannotOpenTheFallbackServesTheHeldRequests() throws Exception {
        Path file = DemoModelFixture.write(dir, GgmlType.F32);
        var engine = new ReloadableEngine(open(file), "v1", 16);
        List<RecordingListener> before = submit(engine, 2, 32);
        var failures = new ArrayList<RuntimeException>();
        boolean swapped = engine.swapDraining(() -> {
            throw new IllegalStateException("mapping failed");
        }, () -> new ReloadableEngine.Serving(open(file), "v1"), failures::add);
        assertFalse(swapped);
        assertEquals(1, failures.size());
        assertEquals("v1", engine.serving().version());
        for (RecordingListener l : before) {
            assertEquals(32, l.await().completionTokens());
        }
        for (RecordingListener l : submit(engine, 2, 4)) {
            assertEquals(4, l.await().completionTokens());
        }
        engine.close();
    }

    @Test
    void anEmbeddingAskedForDuringADrainingSwapIsHeldAndComputedByTheNewEngine() throws Exception {
        Path file = DemoModelFixture.write(dir, GgmlType.F32);
        var engine = new ReloadableEngine(open(file), "v1", 16);
        int[] text = {1, 70, 71, 72};
        float[] before = EmbeddingsTest.embed(engine, text, true).await();
        var held = new CompletableFuture<EmbeddingsTest.Result>();
        assertTrue(engine.swapDraining(() -> {
            // the old engine is closed and the new one not yet serving: this embedding waits
            held.complete(EmbeddingsTest.embed(engine, text, true));
            return new ReloadableEngine.Serving(open(file), "v2");
        }, () -> {
            throw new AssertionError("fallback not expected");
        }, e -> {
            throw new AssertionError(e);
        }));
        float[] after = held.get().await();
        assertEquals(before.length, after.length);
        for (int i = 0; i < before.length; i++) {
            assertEquals(before[i], after[i], 1e-6, "component " + i + ", the same model before and after");
        }
        engine.close();
    }
}
