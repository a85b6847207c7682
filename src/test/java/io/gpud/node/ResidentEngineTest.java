package io.gpud.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.core.Time;
import io.gpud.inference.Admission;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.Engine;
import io.gpud.inference.FinishReason;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.Sampling;
import io.gpud.inference.Tokenizer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** keep_alive on one served model: when it unloads, and what loads it again. */
class ResidentEngineTest {

    /** A clock that moves only when told. */
    private static final class ManualTime implements Time {
        private Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public long nanos() {
            return now.getEpochSecond() * 1_000_000_000L + now.getNano();
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public void sleep(Duration duration) {
            now = now.plus(duration);
        }
    }

    /** An engine that holds each request until the test finishes it; counts closes. */
    private static final class HeldEngine implements Engine {
        final List<GenerationListener> running = new ArrayList<>();
        boolean closed;

        @Override
        public ModelInfo info() {
            return new ModelInfo("m", "gguf", "llama", 1, 64, 16, "F32", 4, 0);
        }

        @Override
        public Tokenizer tokenizer() {
            throw new UnsupportedOperationException("not asked in this test");
        }

        @Override
        public ChatTemplate chatTemplate() {
            throw new UnsupportedOperationException("not asked in this test");
        }

        @Override
        public String device() {
            return "cpu";
        }

        @Override
        public Optional<String> quarantineReason() {
            return Optional.empty();
        }

        @Override
        public Admission submit(GenerationRequest request, GenerationListener listener) {
            running.add(listener);
            return new Admission.Accepted(new io.gpud.inference.Generation() {
                @Override
                public String requestId() {
                    return request.requestId();
                }

                @Override
                public void cancel() {
                }
            });
        }

        void finishAll() {
            running.forEach(l -> l.onDone(new Completion(FinishReason.STOP, 1, 1, 0, 0, 0)));
            running.clear();
        }

        @Override
        public int inFlight() {
            return running.size();
        }

        @Override
        public int queueDepth() {
            return 0;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private final ManualTime time = new ManualTime();
    private final List<HeldEngine> loaded = new ArrayList<>();

    private ResidentEngine resident() {
        var first = new HeldEngine();
        loaded.add(first);
        return new ResidentEngine(first, ResidentEngine.closing(() -> {
            var again = new HeldEngine();
            loaded.add(again);
            return again;
        }), time);
    }

    private static void submit(ResidentEngine engine) {
        var request = new GenerationRequest("r", new int[] {1}, 1, Sampling.greedy(), List.of(), false);
        assertInstanceOf(Admission.Accepted.class, engine.submit(request, new GenerationListener() {
            @Override
            public void onToken(int token, String text) {
            }

            @Override
            public void onDone(Completion completion) {
            }

            @Override
            public void onFailure(RuntimeException error) {
            }
        }));
    }

    @Test
    void aDurationUnloadsThatLongAfterTheLastRequestEnds() {
        var engine = resident();
        submit(engine);
        engine.keepAlive(Duration.ofMinutes(5));
        assertNull(engine.expiresAt(), "no expiry while a request runs");
        time.sleep(Duration.ofMinutes(10));
        engine.expireIfDue(time.instant());
        assertTrue(engine.isLoaded(), "a running request keeps the model");

        loaded.getLast().finishAll();
        assertEquals(time.instant().plus(Duration.ofMinutes(5)), engine.expiresAt());
        time.sleep(Duration.ofMinutes(4));
        engine.expireIfDue(time.instant());
        assertTrue(engine.isLoaded());
        time.sleep(Duration.ofMinutes(1));
        engine.expireIfDue(time.instant());
        assertFalse(engine.isLoaded());
        assertTrue(loaded.getFirst().closed, "unloading frees the weights");

        submit(engine);
        assertTrue(engine.isLoaded(), "the next request loads the model again");
        assertEquals(2, loaded.size());
    }

    @Test
    void aRequestWithoutKeepAliveRestoresTheDefaultOfKeepingTheModel() {
        var engine = resident();
        submit(engine);
        engine.keepAlive(Duration.ofMinutes(1));
        loaded.getLast().finishAll();
        time.sleep(Duration.ofMinutes(2));
        engine.expireIfDue(time.instant());
        assertFalse(engine.isLoaded());

        submit(engine); // sends no keep_alive: the default, kept for good, applies again
        loaded.getLast().finishAll();
        time.sleep(Duration.ofHours(5));
        engine.expireIfDue(time.instant());
        assertTrue(engine.isLoaded());
        assertNull(engine.expiresAt());
    }
}
