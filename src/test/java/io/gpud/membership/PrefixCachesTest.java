package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.MembershipConfig;
import io.gpud.membership.Message.Alive;
import io.gpud.membership.Message.Load;
import io.gpud.metrics.MetricRegistry;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;

/**
 * Prefix-cache news on the load channel: the wire format and its bounds, what a sender puts
 * in each record, and the reader's index.
 */
class PrefixCachesTest {

    private static final LoadRecord PLAIN = new LoadRecord("a", 11, 1_700_000_000_000L, 2, 3, 41.5f);

    /** A source whose announcements and epoch a test sets. */
    private static final class TestSource implements PrefixCaches.Source {
        long epoch = 7;
        final List<Long> held = new ArrayList<>();
        final List<Long> dropped = new ArrayList<>();

        @Override
        public long epoch() {
            return epoch;
        }

        @Override
        public void drain(LongConsumer h, LongConsumer d) {
            held.forEach(h::accept);
            dropped.forEach(d::accept);
            held.clear();
            dropped.clear();
        }
    }

    private static long[] range(long from, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = from + i;
        }
        return out;
    }

    // ---------------------------------------------------------------- wire format

    @Test
    void cacheNewsRoundTripAndARecordWithoutThemIsTheOldFormat() {
        var cached = PLAIN.withCache(-5, new long[] {Long.MIN_VALUE, 3, -1}, new long[] {Long.MAX_VALUE});
        byte[] bytes = Codec.encode(new Load(cached));
        assertEquals(cached, ((Load) Codec.decode(bytes)).record());
        assertEquals(Codec.encode(new Load(PLAIN)).length + 8 + 1 + 3 * 6 + 1 + 6, bytes.length, "6 bytes a name");
        // names travel as their low 48 bits: the record keeps only those
        assertArrayEquals(new long[] {0, 3, 0xFFFF_FFFF_FFFFL}, cached.held());
        assertArrayEquals(new long[] {0xFFFF_FFFF_FFFFL}, cached.dropped());
        var empty = PLAIN.withCache(LoadRecord.EMPTY_CACHE, new long[0], new long[0]);
        assertEquals(empty, ((Load) Codec.decode(Codec.encode(new Load(empty)))).record());
        var full = PLAIN.withCache(1, range(100, LoadRecord.MAX_CACHE_NAMES), range(200, LoadRecord.MAX_CACHE_NAMES));
        assertEquals(full, ((Load) Codec.decode(Codec.encode(new Load(full)))).record());
        // no cache news: exactly the bytes nodes sent before prefix caching (type, id, 8+8+4+4+4)
        byte[] plain = Codec.encode(new Load(PLAIN));
        assertEquals(1 + 1 + 1 + 28, plain.length);
        assertEquals(PLAIN, ((Load) Codec.decode(plain)).record());
    }

    @Test
    void hostileCacheNewsAreRefusedBeforeAnythingIsAllocatedForThem() {
        byte[] plain = Codec.encode(new Load(PLAIN));
        // a count above the bound
        byte[] tooMany = Arrays.copyOf(plain, plain.length + 9);
        tooMany[plain.length + 7] = 1; // epoch 1
        tooMany[plain.length + 8] = (byte) (LoadRecord.MAX_CACHE_NAMES + 1);
        var e = assertThrows(WireFormatException.class, () -> Codec.decode(tooMany));
        assertTrue(e.getMessage().contains("33 held cache names, more than 32"), e.getMessage());
        // a count within the bound that the packet does not hold
        byte[] short1 = tooMany.clone();
        short1[plain.length + 8] = 32;
        e = assertThrows(WireFormatException.class, () -> Codec.decode(short1));
        assertTrue(e.getMessage().contains("32 held cache names in 0 bytes"), e.getMessage());
        // names without an epoch
        byte[] noEpoch = Arrays.copyOf(plain, plain.length + 10);
        assertThrows(WireFormatException.class, () -> Codec.decode(noEpoch));
        // names with the empty cache's epoch
        byte[] emptyWithNames = Arrays.copyOf(plain, plain.length + 8 + 1 + 6 + 1);
        Arrays.fill(emptyWithNames, plain.length, plain.length + 8, (byte) -1);
        emptyWithNames[plain.length + 8] = 1;
        e = assertThrows(WireFormatException.class, () -> Codec.decode(emptyWithNames));
        assertTrue(e.getMessage().contains("empty cache"), e.getMessage());
        // every cut inside the cache news, and anything after them, is refused
        byte[] bytes = Codec.encode(new Load(PLAIN.withCache(9, range(1, 3), range(50, 2))));
        for (int len = plain.length + 1; len < bytes.length; len++) {
            byte[] cut = Arrays.copyOf(bytes, len);
            assertThrows(WireFormatException.class, () -> Codec.decode(cut), "cut at " + len);
        }
        assertThrows(WireFormatException.class, () -> Codec.decode(Arrays.copyOf(bytes, bytes.length + 1)));
        assertThrows(IllegalArgumentException.class, () -> PLAIN.withCache(1, range(0, 33), new long[0]));
        assertThrows(IllegalArgumentException.class, () -> PLAIN.withCache(0, range(0, 1), new long[0]));
        assertThrows(IllegalArgumentException.class,
                () -> PLAIN.withCache(LoadRecord.EMPTY_CACHE, range(0, 1), new long[0]));
    }

    // ---------------------------------------------------------------- sending

    @Test
    void eachNameGoesOutInOneRecordNewestFirstAndAnIdleNodeSendsNone() {
        var source = new TestSource();
        var caches = new PrefixCaches("a", source);
        LoadRecord first = caches.stamp(PLAIN);
        assertTrue(first.hasCache(), "a new epoch is told");
        assertEquals(0, first.held().length);
        source.held.addAll(List.of(1L, 2L));
        LoadRecord r = caches.stamp(PLAIN);
        assertArrayEquals(new long[] {2, 1}, r.held(), "newest first");
        assertEquals(7, r.cacheEpoch());
        source.held.add(3L);
        source.dropped.add(1L);
        r = caches.stamp(PLAIN);
        assertArrayEquals(new long[] {3}, r.held(), "2 was sent already");
        assertArrayEquals(new long[] {1}, r.dropped());
        int records = 0;
        while (caches.stamp(PLAIN).hasCache()) {
            records++;
        }
        assertEquals(0, records, "the epoch went out in three records, the names in one each");
        assertSame(PLAIN, caches.stamp(PLAIN), "idle: the record as it was");
        assertEquals(List.of(2L, 3L), caches.names("a"), "this node's own names are indexed");
        source.held.add(-1L);
        assertArrayEquals(new long[] {0xFFFF_FFFF_FFFFL}, caches.stamp(PLAIN).held(), "48 bits of a name");
        assertTrue(caches.holds("a", -1L), "looked up by the same 48 bits");
        assertTrue(caches.holds("a", 0x7777_FFFF_FFFF_FFFFL), "a false match needs 48 bits to coincide");
    }

    @Test
    void aBurstSendsTheNewestFirstAndKeepsBoundedPending() {
        var source = new TestSource();
        var caches = new PrefixCaches("a", source);
        for (long n = 1; n <= 1000; n++) {
            source.held.add(n);
        }
        LoadRecord r = caches.stamp(PLAIN);
        assertEquals(LoadRecord.MAX_CACHE_NAMES, r.held().length);
        assertEquals(1000, r.held()[0]);
        var sent = new HashMap<Long, Integer>();
        int records = 1;
        for (long n : r.held()) {
            sent.merge(n, 1, Integer::sum);
        }
        for (LoadRecord next; (next = caches.stamp(PLAIN)).hasCache(); records++) {
            for (long n : next.held()) {
                sent.merge(n, 1, Integer::sum);
            }
        }
        assertEquals(PrefixCaches.MAX_PENDING, sent.size(), "only the newest 256 of the burst are sent");
        assertTrue(sent.values().stream().allMatch(c -> c == PrefixCaches.SENDS), sent.toString());
        assertEquals(PrefixCaches.MAX_PENDING * PrefixCaches.SENDS / LoadRecord.MAX_CACHE_NAMES, records);
    }

    @Test
    void aNewEpochForgetsThisNodesOwnNamesAndIsTold() {
        var source = new TestSource();
        var caches = new PrefixCaches("a", source);
        source.held.add(5L);
        caches.stamp(PLAIN);
        source.epoch = 8;
        source.held.add(6L);
        LoadRecord r = caches.stamp(PLAIN);
        assertEquals(8, r.cacheEpoch());
        assertArrayEquals(new long[] {6}, r.held(), "5 belonged to the old epoch");
        assertEquals(List.of(6L), caches.names("a"));
        source.epoch = LoadRecord.NO_CACHE;
        for (int i = 0; i < PrefixCaches.EPOCH_SENDS; i++) {
            LoadRecord gone = caches.stamp(PLAIN);
            assertEquals(LoadRecord.EMPTY_CACHE, gone.cacheEpoch(), "the caches went: peers are told to forget");
            assertEquals(0, gone.held().length + gone.dropped().length);
        }
        assertSame(PLAIN, caches.stamp(PLAIN), "told: nothing more to tell");
        assertEquals(List.of(), caches.names("a"));
        source.epoch = 9;
        assertEquals(9, caches.stamp(PLAIN).cacheEpoch(), "a model loaded again: a new epoch");
    }

    @Test
    void aHostWhoseCachesWentIsForgottenByItsPeers() {
        var source = new TestSource();
        var sender = new PrefixCaches("b", source);
        var reader = PrefixCaches.none("self");
        source.held.add(5L);
        reader.apply(sender.stamp(PLAIN.stamped("b", 1)));
        assertTrue(reader.holds("b", 5L));
        source.epoch = LoadRecord.NO_CACHE; // keep-alive unloaded b's only model
        reader.apply(sender.stamp(PLAIN.stamped("b", 2)));
        assertEquals(List.of(), reader.names("b"));
        assertEquals(0, reader.indexedNames());
    }

    // ---------------------------------------------------------------- reading

    private static Map<String, Integer> deepest(PrefixCaches caches, long... names) {
        var depth = new HashMap<String, Integer>();
        caches.deepest(names, names.length, (node, blocks) -> depth.putIfAbsent(node, blocks));
        return depth;
    }

    @Test
    void theDeepestHeldNameGivesEachHostsDepth() {
        var caches = PrefixCaches.none("self");
        caches.apply(PLAIN.stamped("b", 1).withCache(1, new long[] {102}, new long[0])); // holds 100..102
        caches.apply(PLAIN.stamped("c", 1).withCache(1, new long[] {100, 104}, new long[0]));
        caches.apply(PLAIN.stamped("d", 1).withCache(1, new long[] {999}, new long[0]));
        assertEquals(Map.of("b", 3, "c", 5), deepest(caches, 100, 101, 102, 103, 104, 105));
        assertEquals(Map.of("b", 3, "c", 1), deepest(caches, 100, 101, 102));
        assertEquals(Map.of(), deepest(caches));
        caches.apply(PLAIN.stamped("c", 2).withCache(1, new long[0], new long[] {104}));
        assertEquals(Map.of("b", 3, "c", 1), deepest(caches, 100, 101, 102, 103, 104, 105), "c dropped 104");
        caches.apply(PLAIN.stamped("b", 2).withCache(2, new long[] {100}, new long[0]));
        assertEquals(Map.of("b", 1, "c", 1), deepest(caches, 100, 101, 102), "b's new epoch forgot 102");
        caches.forget("b");
        caches.forget("c");
        caches.forget("d");
        assertEquals(0, caches.indexedNames(), "a forgotten host leaves nothing in the index");
        caches.apply(PLAIN.stamped("self", 3).withCache(1, new long[] {1}, new long[0]));
        assertEquals(0, caches.indexedNames(), "this node's own records are its announcements, not a peer's");
    }

    @Test
    void eachHostKeepsAtMostItsBoundForgettingTheOldestFirst() {
        var caches = PrefixCaches.none("self");
        int per = LoadRecord.MAX_CACHE_NAMES;
        long next = 0;
        for (int r = 0; next < PrefixCaches.MAX_NAMES_PER_NODE + 100; r++) {
            caches.apply(PLAIN.stamped("b", r + 1).withCache(1, range(next, per), new long[0]));
            caches.apply(PLAIN.stamped("c", r + 1).withCache(1, range(next, per), new long[0]));
            next += per;
        }
        List<Long> names = caches.names("b");
        assertEquals(PrefixCaches.MAX_NAMES_PER_NODE, names.size());
        assertEquals(PrefixCaches.MAX_NAMES_PER_NODE, caches.indexedNames(), "b and c share names");
        assertFalse(names.contains(0L), "the oldest went first");
        assertTrue(names.contains(next - 1));
        assertEquals(Map.of(), deepest(caches, 0));
        caches.forget("b");
        assertEquals(PrefixCaches.MAX_NAMES_PER_NODE, caches.indexedNames(), "c still holds them");
        caches.forget("c");
        assertEquals(0, caches.indexedNames());
    }

    @Test
    void theProtocolLearnsAcceptedRecordsAndForgetsTheDead() {
        var meta = new NodeMetadata("r", "10.0.0.1", 8400, "", "", "", "READY", List.of(), 4, "test");
        var caches = PrefixCaches.none("a");
        Transport none = new Transport() {
            @Override
            public void sendPacket(InetSocketAddress to, byte[] packet) {
            }

            @Override
            public void sendStream(InetSocketAddress to, byte[] frame) {
            }
        };
        var random = new SplittableRandom(4);
        var peer = SimNetwork.address(1);
        var p = new SwimProtocol("a", SimNetwork.address(0), meta, MembershipConfig.lan(), Keyring.plaintext(), none,
                random, new MembershipMetrics(new MetricRegistry(), "test"), List.of(), null, caches, 0);
        p.onPacket(peer, plain(new Alive(1, "b", peer, meta.encode()), random), 1);
        p.onPacket(peer, plain(new Load(PLAIN.stamped("b", 5).withCache(3, new long[] {42}, new long[0])), random), 2);
        p.onPacket(peer, plain(new Load(PLAIN.stamped("b", 4).withCache(3, new long[] {43}, new long[0])), random), 3);
        assertEquals(List.of(42L), caches.names("b"), "an older record is not applied");
        p.onPacket(peer, plain(new Message.Dead(1, "b", "c"), random), 4);
        assertEquals(List.of(), caches.names("b"), "a dead host is forgotten");
        p.onPacket(peer, plain(new Load(PLAIN.stamped("b", 6).withCache(3, new long[] {44}, new long[0])), random), 5);
        assertEquals(List.of(), caches.names("b"), "a late record from a dead host, still in the table, is not applied");
        assertEquals(0, caches.indexedNames());
    }

    private static byte[] plain(Message m, SplittableRandom random) {
        return Keyring.plaintext().seal(Codec.encode(m), random);
    }
}
