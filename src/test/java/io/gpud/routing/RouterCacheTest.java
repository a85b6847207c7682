package io.gpud.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.PrefixCaches;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The cache term: the deepest match, its weight, and what it must not override. */
class RouterCacheTest {

    private static final MonotonicClock CLOCK = () -> SimCandidates.START_NANOS;
    private static final RoutingConfig CACHE = RoutingConfig.defaults().withCacheAffinity();
    /** A request of 10 whole blocks. */
    private static final long[] NAMES = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

    private final PrefixCaches caches = PrefixCaches.none("self");

    private void holds(String node, long... names) {
        caches.apply(new LoadRecord(node, 1, 0, 0, 0, 0f, 1, names, new long[0]));
    }

    private static SimCandidates hosts(int bInFlight) {
        return new SimCandidates("self", "r")
                .add(SimCandidates.host("a", "r", 1, 0))
                .add(SimCandidates.host("b", "r", 1, bInFlight))
                .add(SimCandidates.host("c", "r", 1, 0));
    }

    private Router router(RoutingConfig config, CandidateSource source, long seed) {
        return new Router(config, source, null, caches, CLOCK, new Random(seed), null);
    }

    private static String chosen(RouteDecision d) {
        return d instanceof RouteDecision.Forward f ? f.targets().getFirst().node() : d.toString();
    }

    private static Map<String, RouteExplanation.Line> lines(RouteDecision d) {
        var out = new HashMap<String, RouteExplanation.Line>();
        d.explanation().candidates().forEach(l -> out.put(l.node(), l));
        return out;
    }

    @Test
    void eachHostScoresItsDeepestHeldPrefix() {
        holds("b", 12, 18); // b holds the first 8 blocks (18 implies 11..17)
        holds("c", 12);     // c the first 2
        holds("a", 99);     // a something else
        var d = router(CACHE, hosts(0), 1).decide("m", RequestSource.unknown(), NAMES, true);
        assertEquals(10, d.explanation().requestBlocks());
        var l = lines(d);
        assertEquals(8, l.get("b").cachedBlocks());
        assertEquals(0.2, l.get("b").cache(), 1e-12);
        assertEquals(2, l.get("c").cachedBlocks());
        assertEquals(0.8, l.get("c").cache(), 1e-12);
        assertEquals(0, l.get("a").cachedBlocks());
        assertEquals(1.0, l.get("a").cache(), 1e-12);
        assertEquals(0.35 * l.get("b").load() + 0.2 * l.get("b").latency() + 0.3 * 0.2, l.get("b").score(), 1e-12);
    }

    @Test
    void theIdleHostHoldingThePrefixIsAlwaysChosen() {
        holds("b", 18);
        holds("c", 12);
        for (long seed = 0; seed < 200; seed++) {
            assertEquals("b", chosen(router(CACHE, hosts(0), seed).decide("m", RequestSource.unknown(), NAMES, false)),
                    "seed " + seed + ": the power of two choices must not draw past the host holding the prompt");
        }
    }

    @Test
    void routersOnTheSameStaleViewDoNotAllSendASharedSystemPromptToTheOneHostHoldingIt() {
        holds("b", 12); // 2 blocks of 10: a system prompt, not the conversation
        var sent = new HashMap<String, Integer>();
        for (long router = 0; router < 60; router++) { // 60 routing nodes, one request each, the same records
            sent.merge(chosen(router(CACHE, hosts(0), router).decide("m", RequestSource.unknown(), NAMES, false)),
                    1, Integer::sum);
        }
        assertTrue(sent.getOrDefault("b", 0) < 60 && sent.getOrDefault("b", 0) >= 30,
                "b wins the pairs it is drawn into (2 of 3 at choices 3), not every decision: " + sent);
        assertTrue(sent.getOrDefault("a", 0) + sent.getOrDefault("c", 0) > 0, sent.toString());
        holds("b", 15); // 5 blocks of 10: half the prompt more than anyone else, a conversation's lead
        for (long router = 0; router < 60; router++) {
            assertEquals("b", chosen(router(CACHE, hosts(0), router).decide("m", RequestSource.unknown(), NAMES,
                    false)), "router " + router);
        }
    }

    @Test
    void aSaturatedCachedHostLosesToAnIdleUncachedOne() {
        holds("b", 20); // b holds the whole prompt, but all 8 of its slots are busy
        for (long seed = 0; seed < 100; seed++) {
            var d = router(CACHE, hosts(8), seed).decide("m", RequestSource.unknown(), NAMES, true);
            assertNotEquals("b", chosen(d), "seed " + seed);
            assertTrue(lines(d).get("b").saturated());
        }
    }

    @Test
    void aBusyHostWithAShortSharedPrefixLosesToAnIdleOne() {
        holds("b", 11); // 1 block of 10: a gain of 0.03 against a load term of 0.35 * 4/12
        for (long seed = 0; seed < 50; seed++) {
            assertNotEquals("b", chosen(router(CACHE, hosts(4), seed)
                    .decide("m", RequestSource.unknown(), NAMES, false)), "seed " + seed);
        }
    }

    @Test
    void withTheTermOffTheScoresAreExactlyTheThreeTermOnes() {
        holds("b", 20);
        RoutingConfig off = RoutingConfig.defaults();
        assertEquals(0.0, off.weightCache());
        var plain = router(off, hosts(2), 5).decide("m", RequestSource.unknown(), true);
        var named = router(off, hosts(2), 5).decide("m", RequestSource.unknown(), NAMES, true);
        assertEquals(chosen(plain), chosen(named));
        assertEquals(0, named.explanation().requestBlocks());
        var a = lines(plain);
        var b = lines(named);
        for (String node : List.of("a", "b", "c")) {
            assertEquals(a.get(node).score(), b.get(node).score(), node);
            assertEquals(0.5 * a.get(node).load() + 0.3 * a.get(node).latency() + 0.2 * a.get(node).affinity(),
                    a.get(node).score(), 1e-12, node);
            assertEquals(0.0, b.get(node).cache());
        }
    }

    @Test
    void aRequestWithoutWholeBlocksScoresNoCacheForAnyone() {
        holds("b", 20);
        var d = router(CACHE, hosts(0), 3).decide("m", RequestSource.unknown(), new long[0], true);
        lines(d).values().forEach(l -> assertEquals(0.0, l.cache(), l.node()));
        assertTrue(Arrays.asList("a", "b", "c").contains(chosen(d)));
    }
}
