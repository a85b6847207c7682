package io.gpud.routing;

import io.gpud.Seeds;
import io.gpud.config.RoutingConfig;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.NetworkCoordinate;
import io.gpud.membership.PrefixCaches;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The router against {@link ReferenceRouter} on random clusters: hosts in up to four
 * regions, every filter, fresh, stale and missing load records, recent sends, forwards
 * still unfinished that were sent before a host's load record, open
 * circuits, Vivaldi coordinates for some peers, affinity rules, this node present or not;
 * several decisions per cluster so the compiled table is reused. Same seed, same decision.
 *
 * <p>A property over {@value #TRIES} seeds from {@link Seeds}; a failure says
 * {@code seed N}, and this replays it alone:
 *
 * <pre>
 * ./mvnw test -Dtest='RouterDifferentialTest' -Dgpud.sim.seed=N
 * </pre>
 *
 * <p>For example, a reference that took a peer in another region as stale 1.9 s after
 * {@code staleLoadAfter} instead of 2 s failed the first seed: "seed 851172219271: round 2 m
 * from unknown via vpce-0abc host h7 ==> expected: &lt;true&gt; but was: &lt;false&gt;"; the
 * command above with {@code -Dgpud.sim.seed=851172219271} failed with the same message.
 */
class RouterDifferentialTest {

    private static final String[] REGIONS = {"us-east-1", "us-west-2", "eu-west-1", "ap-south-1"};
    private static final String[] STATES = {"READY", "READY", "READY", "READY", "DRAINING", "QUARANTINED"};
    private static final RoutingConfig BASE = RoutingConfig.defaults();

    static final int TRIES = 400;

    static LongStream routerSeeds() {
        return Seeds.take(TRIES);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("routerSeeds")
    void decidesAsThePlainReferenceOnRandomClusters(long seed) throws Exception {
        try {
            compare(seed);
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("routerSeeds")
    void decidesAsThePlainReferenceWithTheCacheTerm(long seed) throws Exception {
        try {
            compare(seed, true);
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
        }
    }

    private static void compare(long seed) throws Exception {
        compare(seed, false);
    }

    /** With {@code cache}, the cache term is on and hosts hold random prefixes of each request. */
    private static void compare(long seed, boolean cache) throws Exception {
        var random = new Random(seed);
        int regions = 1 + random.nextInt(REGIONS.length);
        String local = REGIONS[random.nextInt(regions)];
        var plainConfig = new RoutingConfig(true, BASE.weightLoad(), BASE.weightLatency(), BASE.weightAffinity(),
                BASE.latencyCeiling(), BASE.staleLoadAfter(), BASE.crossRegionPenalty(), 1 + random.nextInt(4),
                1 + random.nextInt(4), BASE.connectTimeout(), BASE.breakerFailures(), BASE.breakerOpenFor(), false,
                List.of("10.34.10.0/24=" + REGIONS[random.nextInt(REGIONS.length)], "vpce-0abc=nowhere-1"),
                BASE.firstByteTimeout(), BASE.idleTimeout(), BASE.peerTls());
        var config = cache ? plainConfig.withCacheAffinity() : plainConfig;
        var now = new AtomicLong(SimCandidates.START_NANOS);
        var source = new SimCandidates("self", local);
        var all = new ArrayList<Candidate>();
        if (random.nextInt(4) > 0) {
            var self = new Candidate("self", local, "h", 1, true, STATES[random.nextInt(STATES.length)],
                    Set.of("m"), 1 + random.nextInt(8), random.nextInt(3), random.nextInt(8), now.get(),
                    Duration.ZERO, true);
            source.add(self);
            all.add(self);
        }
        Vivaldi vivaldi = random.nextBoolean() ? new Vivaldi(new Random(seed)) : null;
        int hosts = random.nextInt(40);
        for (int i = 0; i < hosts; i++) {
            String node = "h" + i;
            long loadAt = switch (random.nextInt(5)) {
                case 0 -> Candidate.NO_LOAD;
                case 1 -> now.get() - Duration.ofMillis(1000 + random.nextInt(3000)).toNanos();
                default -> now.get() - Duration.ofMillis(random.nextInt(900)).toNanos();
            };
            Set<String> models = switch (random.nextInt(6)) {
                case 0 -> Set.of("x");
                case 1 -> Set.of("m", "x");
                default -> Set.of("m");
            };
            // Few distinct RTTs and loads, so that ties happen.
            var c = new Candidate(node, REGIONS[random.nextInt(regions)], "10.0.0." + i, 8400, random.nextInt(8) > 0,
                    STATES[random.nextInt(STATES.length)], models, 1 + random.nextInt(4), random.nextInt(3),
                    random.nextInt(4), loadAt, random.nextInt(4) == 0 ? null : Duration.ofMillis(random.nextInt(4) * 30L),
                    false);
            source.add(c);
            all.add(c);
            if (vivaldi != null && random.nextBoolean()) {
                double[] v = new double[NetworkCoordinate.DIMENSIONS];
                for (int d = 0; d < v.length; d++) {
                    v[d] = random.nextGaussian() * 0.03;
                }
                vivaldi.observed(node, Duration.ofMillis(1 + random.nextInt(90)), new NetworkCoordinate(v, 1e-4, 0.4, 0));
            }
        }
        var caches = PrefixCaches.none("reference");
        long[] names = new long[0];
        Map<String, Integer> matched = new HashMap<>();
        if (cache) {
            // each host holds a random depth of the request's chain (0: none of it), and another name
            names = random.longs(1 + random.nextInt(12)).toArray();
            for (Candidate c : all) {
                int depth = random.nextInt(names.length + 1);
                long[] held = depth == 0 ? new long[] {random.nextLong()}
                        : new long[] {names[depth - 1], random.nextLong()};
                caches.apply(new LoadRecord(c.node(), 1, 0, 0, 0, 0f, 1, held, new long[0]));
                if (depth > 0) {
                    matched.put(c.node(), depth);
                }
            }
        }
        var router = new Router(config, source, vivaldi, caches, now::get, new Random(seed), null);
        var reference = new ReferenceRouter(config, local);
        var referenceRandom = new Random(seed);
        Map<String, List<Long>> sends = new HashMap<>();
        Map<String, Integer> unfinished = new HashMap<>();
        // Forwards sent before every load record and not finished: no record shows them.
        long before = now.get();
        now.set(before - Duration.ofSeconds(5).toNanos());
        for (int i = 0; i < hosts; i++) {
            if (random.nextInt(3) == 0) {
                for (int n = 1 + random.nextInt(6); n > 0; n--) {
                    router.sent("h" + i);
                    sends.computeIfAbsent("h" + i, k -> new ArrayList<>()).add(now.get());
                    unfinished.merge("h" + i, 1, Integer::sum);
                }
            }
        }
        now.set(before);
        Set<String> open = new HashSet<>();
        for (int i = 0; i < hosts; i++) {
            if (random.nextInt(8) == 0) {
                for (int f = 0; f < config.breakerFailures(); f++) {
                    router.failed("h" + i);
                }
                open.add("h" + i);
            }
        }
        var fromRule = RequestSource.of(InetAddress.getByName("10.34.10.9"));
        var elsewhere = RequestSource.of(InetAddress.getByName("192.168.0.1"));
        var vpce = new RequestSource(null, "vpce-0abc", null);
        for (int round = 0; round < 6; round++) {
            RequestSource requestSource = round % 3 == 0 ? fromRule : round % 3 == 1 ? elsewhere : vpce;
            String affinity = requestSource == fromRule ? config.affinity().getFirst().split("=")[1]
                    : requestSource == vpce ? "nowhere-1" : null;
            String model = round == 5 ? "m:latest" : "m";
            boolean explain = round % 2 == 0;
            RouteDecision d = router.decide(model, requestSource, names, explain);
            ReferenceRouter.Result want = reference.decide(all, model, affinity, now.get(), vivaldi, sends, unfinished, open,
                    referenceRandom, matched, names.length);
            String where = "round " + round + " " + model + " from " + requestSource;
            switch (d) {
                case RouteDecision.NoCandidate n -> assertEquals("no_candidate", want.outcome(), where);
                case RouteDecision.Local l -> assertEquals("local", want.outcome(), where);
                case RouteDecision.Forward f -> {
                    assertEquals("forward", want.outcome(), where);
                    assertEquals(want.targets(), f.targets().stream().map(RouteDecision.Target::node).toList(), where);
                    assertEquals(want.addedMs(), f.addedLatencyMs(), 1e-9, where);
                }
            }
            if (explain) {
                RouteExplanation e = switch (d) {
                    case RouteDecision.NoCandidate n -> n.explanation();
                    case RouteDecision.Local l -> l.explanation();
                    case RouteDecision.Forward f -> f.explanation();
                };
                assertEquals(want.chosen(), e.chosen(), where);
                assertEquals(want.tier(), e.tier(), where);
                assertEquals(want.scored().size(), e.candidates().size(), where);
                for (ReferenceRouter.Scored s : want.scored()) {
                    var line = e.candidates().stream().filter(l -> l.node().equals(s.host().node())).findFirst()
                            .orElseThrow();
                    String at = where + " host " + s.host().node();
                    assertEquals(s.filtered(), line.filtered(), at);
                    assertEquals(s.saturated(), line.saturated(), at);
                    assertEquals(s.rtt() * 1e3, line.rttMs(), 1e-9, at);
                    if (s.filtered() == null) {
                        assertEquals(s.load(), line.load(), 1e-12, at);
                        assertEquals(s.latency(), line.latency(), 1e-12, at);
                        assertEquals(s.affinity(), line.affinity(), 1e-12, at);
                        assertEquals(s.cache(), line.cache(), 1e-12, at);
                        assertEquals(s.matched(), line.cachedBlocks(), at);
                        assertEquals(s.score(), line.score(), 1e-12, at);
                    }
                }
            } else {
                String chosen = switch (d) {
                    case RouteDecision.NoCandidate n -> null;
                    case RouteDecision.Local l -> "self";
                    case RouteDecision.Forward f -> f.targets().getFirst().node();
                };
                assertEquals(want.chosen(), chosen, where);
            }
            // Time passes and this node sends to the chosen peer: the next round sees both.
            now.addAndGet(Duration.ofMillis(random.nextInt(300)).toNanos());
            if (want.chosen() != null && !want.chosen().equals("self")) {
                router.sent(want.chosen());
                sends.computeIfAbsent(want.chosen(), n -> new ArrayList<>()).add(now.get());
                unfinished.merge(want.chosen(), 1, Integer::sum);
            }
            // Some forward ends (or a stray end for a host with none, which must not count below 0).
            String ended = "h" + random.nextInt(Math.max(1, hosts));
            router.finished(ended);
            unfinished.computeIfPresent(ended, (n, u) -> u > 1 ? u - 1 : null);
        }
    }
}
