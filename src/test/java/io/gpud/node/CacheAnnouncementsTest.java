package io.gpud.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.gpud.inference.Admission;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.PrefixCacheView;
import io.gpud.inference.Tokenizer;
import io.gpud.membership.LoadRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;

class CacheAnnouncementsTest {

    /** A view whose announcements a test queues. */
    private static final class QueuedView implements PrefixCacheView {
        final List<Long> held = new ArrayList<>();
        final List<Long> dropped = new ArrayList<>();

        @Override
        public long seed() {
            return 1;
        }

        @Override
        public int blockTokens() {
            return 16;
        }

        @Override
        public Stats stats() {
            return new Stats(0, 0, 0, 0, 0, 0, 0);
        }

        @Override
        public void drainAnnouncements(LongConsumer h, LongConsumer d) {
            held.forEach(h::accept);
            dropped.forEach(d::accept);
            held.clear();
            dropped.clear();
        }
    }

    /** An engine that only has a prefix cache (or none). */
    private record CachingEngine(PrefixCacheView view) implements Engine {
        @Override
        public Optional<PrefixCacheView> prefixCache() {
            return Optional.ofNullable(view);
        }

        @Override
        public ModelInfo info() {
            return new ModelInfo("m", "gguf", "llama", 1, 64, 10, "F32", 1, 0, 1);
        }

        @Override
        public Tokenizer tokenizer() {
            throw new UnsupportedOperationException("not asked for");
        }

        @Override
        public ChatTemplate chatTemplate() {
            throw new UnsupportedOperationException("not asked for");
        }

        @Override
        public String device() {
            return "none";
        }

        @Override
        public Optional<String> quarantineReason() {
            return Optional.empty();
        }

        @Override
        public Admission submit(GenerationRequest request, GenerationListener listener) {
            throw new UnsupportedOperationException("not asked for");
        }

        @Override
        public int inFlight() {
            return 0;
        }

        @Override
        public int queueDepth() {
            return 0;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void everyEnginesNamesGoOutUnderAnEpochThatAReloadChanges() {
        var a = new QueuedView();
        var b = new QueuedView();
        List<Engine> engines = new ArrayList<>(List.of(new CachingEngine(a), new CachingEngine(null),
                new CachingEngine(b)));
        var announcements = new CacheAnnouncements(() -> engines, 99);
        long epoch = announcements.epoch();
        assertNotEquals(LoadRecord.NO_CACHE, epoch);
        assertEquals(epoch, announcements.epoch(), "stable while the engines are");
        assertNotEquals(epoch, new CacheAnnouncements(() -> engines, 100).epoch(), "another life, another epoch");
        a.held.add(1L);
        b.held.add(2L);
        b.dropped.add(3L);
        var held = new ArrayList<Long>();
        var dropped = new ArrayList<Long>();
        announcements.drain(held::add, dropped::add);
        assertEquals(List.of(1L, 2L), held);
        assertEquals(List.of(3L), dropped);
        engines.set(2, new CachingEngine(new QueuedView())); // b reloaded: a new, empty cache
        assertNotEquals(epoch, announcements.epoch());
        engines.clear();
        engines.add(new CachingEngine(null));
        assertEquals(LoadRecord.NO_CACHE, announcements.epoch(), "no engine caches prefixes");
    }
}
