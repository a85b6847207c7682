package io.gpud.routing;

import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RouterTest {

    private final AtomicLong now = new AtomicLong(SimCandidates.START_NANOS);
    private final MonotonicClock clock = now::get;

    private static RoutingConfig config(List<String> affinity) {
        RoutingConfig d = RoutingConfig.defaults();
        return new RoutingConfig(true, d.weightLoad(), d.weightLatency(), d.weightAffinity(), d.latencyCeiling(),
                d.staleLoadAfter(), d.crossRegionPenalty(), d.choices(), d.maxAttempts(), d.connectTimeout(),
                d.breakerFailures(), d.breakerOpenFor(), false, affinity, d.firstByteTimeout(), d.idleTimeout(), d.peerTls());
    }

    private Router router(CandidateSource source, List<String> affinity) {
        return new Router(config(affinity), source, null, clock, new Random(7), null);
    }

    private static String chosen(RouteDecision d) {
        return switch (d) {
            case RouteDecision.Local l -> "self";
            case RouteDecision.Forward f -> f.targets().getFirst().node();
            case RouteDecision.NoCandidate n -> null;
        };
    }

    private static SimCandidates threeRegions() {
        return new SimCandidates("self", "us-east-1")
                .add(SimCandidates.host("e1", "us-east-1", 0.3, 0))
                .add(SimCandidates.host("e2", "us-east-1", 0.3, 0))
                .add(SimCandidates.host("w1", "us-west-2", 60, 0))
                .add(SimCandidates.host("w2", "us-west-2", 62, 0))
                .add(SimCandidates.host("u1", "eu-west-1", 75, 0))
                .add(SimCandidates.host("u2", "eu-west-1", 76, 0));
    }

    @Test
    void staysInTheLocalRegionWhileItIsHealthy() {
        var r = router(threeRegions(), List.of());
        for (int i = 0; i < 100; i++) {
            String node = chosen(r.decide("m", RequestSource.unknown()));
            assertTrue(node.startsWith("e"), "request went to " + node);
        }
    }

    @Test
    void failsOverToTheClosestRegionAndSaysWhatItCosts() {
        var source = threeRegions();
        source.remove("e1").remove("e2");
        var r = router(source, List.of());
        var d = assertInstanceOf(RouteDecision.Forward.class, r.decide("m", RequestSource.unknown(), true));
        assertEquals("us-west-2", d.targets().getFirst().region());
        assertTrue(d.addedLatencyMs() >= 60, "added " + d.addedLatencyMs());
        assertTrue(d.explanation().note().contains("adds ~6"), d.explanation().note());
        assertTrue(d.explanation().tier().startsWith("failover to us-west-2"), d.explanation().tier());
    }

    @Test
    void saysWhenAFailoverCostsMoreThanThePenalty() {
        var source = new SimCandidates("self", "us-east-1").add(SimCandidates.host("far", "ap-south-1", 190, 0));
        var d = router(source, List.of()).decide("m", RequestSource.unknown(), true);
        assertTrue(d.explanation().note().contains("MORE than the 80 ms"), d.explanation().note());
    }

    @Test
    void honoursAffinityRules() throws Exception {
        var r = router(threeRegions(), List.of("10.34.10.0/24=eu-west-1", "vpce-0abc=us-west-2"));
        for (int i = 0; i < 50; i++) {
            assertTrue(chosen(r.decide("m", RequestSource.of(InetAddress.getByName("10.34.10.77")))).startsWith("u"));
            assertTrue(chosen(r.decide("m", new RequestSource(InetAddress.getByName("192.168.1.1"), "vpce-0abc",
                    null))).startsWith("w"));
            assertTrue(chosen(r.decide("m", RequestSource.of(InetAddress.getByName("10.34.11.1")))).startsWith("e"));
        }
    }

    @Test
    void filtersAndExplainsWhy() {
        var source = new SimCandidates("self", "r")
                .add(SimCandidates.host("ok", "r", 1, 0))
                .add(new Candidate("draining", "r", "h", 1, true, "DRAINING", Set.of("m"), 8, 0, 0,
                        SimCandidates.START_NANOS, null, false))
                .add(new Candidate("other-model", "r", "h", 1, true, "READY", Set.of("x"), 8, 0, 0,
                        SimCandidates.START_NANOS, null, false))
                .add(new Candidate("quarantined", "r", "h", 1, true, "QUARANTINED", Set.of("m"), 8, 0, 0,
                        SimCandidates.START_NANOS, null, false));
        var d = router(source, List.of()).decide("m", RequestSource.unknown(), true);
        assertEquals("ok", chosen(d));
        Map<String, String> reasons = new HashMap<>();
        d.explanation().candidates().forEach(l -> reasons.put(l.node(), String.valueOf(l.filtered())));
        assertEquals("state DRAINING", reasons.get("draining"));
        assertEquals("model not loaded", reasons.get("other-model"));
        assertEquals("state QUARANTINED", reasons.get("quarantined"));
        assertEquals("null", reasons.get("ok"));
    }

    @Test
    void staleLoadCountsAsSaturatedButStillServesWhenNothingElseCan() {
        var stale = new Candidate("stale", "r", "h", 1, true, "READY", Set.of("m"), 8, 0, 0,
                SimCandidates.loadAgo(Duration.ofSeconds(5)), null, false);
        var fresh = SimCandidates.host("fresh", "r", 50, 6);
        var r = router(new SimCandidates("self", "r").add(stale).add(fresh), List.of());
        for (int i = 0; i < 20; i++) {
            assertEquals("fresh", chosen(r.decide("m", RequestSource.unknown())));
        }
        var alone = router(new SimCandidates("self", "r").add(stale), List.of());
        var d = alone.decide("m", RequestSource.unknown(), true);
        assertEquals("stale", chosen(d));
        assertTrue(d.explanation().note().contains("fail-open"), d.explanation().note());
    }

    @Test
    void aDrainingNodeForwardsAndHasNoCandidateWithoutPeers() {
        var self = new Candidate("self", "r", "h", 1, true, "DRAINING", Set.of("m"), 8, 0, 0,
                SimCandidates.START_NANOS, Duration.ZERO, true);
        var source = new SimCandidates("self", "r").add(self).add(SimCandidates.host("peer", "r", 1, 0));
        assertEquals("peer", chosen(router(source, List.of()).decide("m", RequestSource.unknown())));
        source.remove("peer");
        assertInstanceOf(RouteDecision.NoCandidate.class, router(source, List.of()).decide("m", RequestSource.unknown()));
    }

    @Test
    void thousandConcurrentRequestsSpreadEvenlyOverEqualHosts() {
        var source = new SimCandidates("self", "r");
        int hosts = 5;
        for (int i = 0; i < hosts; i++) {
            source.add(new Candidate("h" + i, "r", "h", 1, true, "READY", Set.of("m"), 300, 0, 0,
                    SimCandidates.loadAgo(Duration.ofMillis(50)), Duration.ofNanos(300_000 + i * 20_000), false));
        }
        var r = router(source, List.of());
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 1000; i++) {
            // All 1000 are in flight at once: no load record shows any of them yet.
            String node = chosen(r.decide("m", RequestSource.unknown()));
            r.sent(node);
            counts.merge(node, 1, Integer::sum);
        }
        for (var e : counts.entrySet()) {
            assertTrue(e.getValue() >= 160 && e.getValue() <= 240, "spread " + counts);
        }
        assertEquals(hosts, counts.size(), "spread " + counts);
    }

    @Test
    void forwardsAPeersRecordDoesNotShowYetCountAsItsLoadUntilTheyFinish() {
        var source = new SimCandidates("self", "r")
                .add(SimCandidates.host("near", "r", 1, 0))
                .add(SimCandidates.host("far", "r", 5, 0));
        var r = router(source, List.of());
        assertEquals("near", chosen(r.decide("m", RequestSource.unknown())));
        // Eight forwards sent before near's record was taken, still unanswered: the record
        // (in flight 0) does not show them, as when they wait in near's accept queue.
        now.set(SimCandidates.loadAgo(Duration.ofMillis(200)));
        for (int i = 0; i < 8; i++) {
            r.sent("near");
        }
        now.set(SimCandidates.START_NANOS);
        for (int i = 0; i < 20; i++) {
            var d = r.decide("m", RequestSource.unknown(), true);
            assertEquals("far", chosen(d));
            var near = d.explanation().candidates().stream().filter(l -> l.node().equals("near")).findFirst()
                    .orElseThrow();
            assertEquals(0.5, near.load(), 1e-12, "8 outstanding over capacity 8");
            assertTrue(near.saturated());
        }
        for (int i = 0; i < 8; i++) {
            r.finished("near");
        }
        assertEquals("near", chosen(r.decide("m", RequestSource.unknown())));
        // More ends than sends (a peer dropped and listed again) never count below none.
        for (int i = 0; i < 5; i++) {
            r.finished("near");
        }
        now.set(SimCandidates.loadAgo(Duration.ofMillis(200)));
        r.sent("near");
        now.set(SimCandidates.START_NANOS);
        var d = r.decide("m", RequestSource.unknown(), true);
        assertEquals(1.0 / 9, d.explanation().candidates().stream().filter(l -> l.node().equals("near")).findFirst()
                .orElseThrow().load(), 1e-12);
    }

    @Test
    void circuitOpensAfterFiveFailuresAndLetsOneProbeThroughLater() {
        var source = new SimCandidates("self", "r").add(SimCandidates.host("a", "r", 1, 0))
                .add(SimCandidates.host("b", "r", 5, 4));
        var r = router(source, List.of());
        for (int i = 0; i < 4; i++) {
            assertFalse(r.failed("a"));
        }
        assertTrue(r.failed("a"));
        assertFalse(r.tryAcquire("a"));
        for (int i = 0; i < 20; i++) {
            assertEquals("b", chosen(r.decide("m", RequestSource.unknown())));
        }
        now.addAndGet(Duration.ofSeconds(6).toNanos());
        assertTrue(r.tryAcquire("a"), "half-open probe");
        assertFalse(r.tryAcquire("a"), "only one probe");
        r.succeeded("a");
        assertTrue(r.tryAcquire("a"));
    }

    @Test
    void noHostMeansNoCandidate() {
        var d = router(new SimCandidates("self", "r"), List.of()).decide("m", RequestSource.unknown(), true);
        assertInstanceOf(RouteDecision.NoCandidate.class, d);
        assertNotNull(d.explanation());
        assertNull(d.explanation().chosen());
    }

    @Test
    void badAffinityRulesAreRefusedByName() {
        var e = assertThrows(IllegalArgumentException.class, () -> AffinityRules.parse(List.of("10.0.0.0/40=x")));
        assertTrue(e.getMessage().contains("10.0.0.0/40=x"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AffinityRules.parse(List.of("example.com=x")));
    }

    @Test
    void traceparentKeepsTheTraceAndStartsANewSpan() {
        String in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        String out = PeerForwarder.nextTraceparent(in);
        assertTrue(out.startsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-"), out);
        assertFalse(out.contains("00f067aa0ba902b7"), out);
        assertTrue(PeerForwarder.nextTraceparent("garbage").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"));
    }
}
