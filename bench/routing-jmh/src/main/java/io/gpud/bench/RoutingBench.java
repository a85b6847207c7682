package io.gpud.bench;

import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.core.NodeState;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.MemberState;
import io.gpud.membership.MemberView;
import io.gpud.membership.NetworkCoordinate;
import io.gpud.membership.NodeMetadata;
import io.gpud.membership.PrefixCaches;
import io.gpud.routing.Candidate;
import io.gpud.routing.CandidateSource;
import io.gpud.routing.MembershipCandidates;
import io.gpud.routing.RequestSource;
import io.gpud.routing.RouteDecision;
import io.gpud.routing.Router;
import io.gpud.routing.Vivaldi;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The routing targets of SPEC section 5 over 600 hosts in 3 regions (200 each, every one
 * with a Vivaldi coordinate, a load record and the model, an affinity rule matching the
 * request, recent sends to one host in ten):
 * <ul>
 * <li>{@code score600}: one decision against an unchanged host list, the work every request
 * does and that grows with the cluster: this node's live state, filter (model, state,
 * suspicion, circuit breaker), load with this node's recent sends, latency, affinity,
 * region order, power of two choices, retry targets (target p99 ≤ 50 µs). The list is
 * compiled into the router's table on the first call, as it is once per gossip snapshot;
 * time stands still at setup so the load records stay as fresh as they are in a cluster
 * that renews them every 250 ms;
 * <li>{@code score600Cached}: {@code score600} with the cache term on (weights 0.35/0.2/0.15/0.3)
 * and a request of 128 prompt blocks (2,048 tokens), against an index where each of the 200
 * local-region hosts holds 2,000 names (400,000 in all) and 20 of them hold a prefix of the
 * request at different depths: the 128 lookups, deepest first, added to every decision
 * (target p99 ≤ 50 µs, as {@code score600});
 * <li>{@code score600NewCoordinates}: the same after a Vivaldi observation (one probe ack),
 * so each decision re-estimates the RTT to all 600 hosts: what the requests that follow a
 * coordinate change pay;
 * <li>{@code decision600}: the whole decision on the request path: a fresh 600-member
 * gossip snapshot converted to candidates and compiled (the worst case: a snapshot changes
 * at most every 100 ms), then the decision with its retry targets and an affinity rule
 * (target p99 ≤ 2 ms);
 * <li>{@code referenceSort600}: the same-run reference, sorting 600 scores, the naive way
 * to rank hosts.
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class RoutingBench {

    private static final int HOSTS = 600;
    private static final String[] REGIONS = {"us-east-1", "us-west-2", "eu-west-1"};

    private Router scoring;
    private Router cached;
    private long[] requestNames;
    private Router rescoring;
    private Vivaldi changing;
    private NetworkCoordinate[] probeCoordinates;
    private String[] names;
    private int probe;
    private Router whole;
    private List<MemberView> members;
    private double[] scores;
    private RequestSource source;
    private volatile List<MemberView> snapshot;

    @Setup
    public void setUp() throws Exception {
        var random = new Random(42);
        var vivaldi = new Vivaldi(random);
        changing = new Vivaldi(new Random(43));
        probeCoordinates = new NetworkCoordinate[HOSTS];
        names = new String[HOSTS];
        long frozen = System.nanoTime();
        MonotonicClock standingStill = () -> frozen;
        var candidates = new ArrayList<Candidate>(HOSTS);
        members = new ArrayList<>(HOSTS);
        for (int i = 0; i < HOSTS; i++) {
            String region = REGIONS[i % REGIONS.length];
            String node = "gpud-" + region + "-" + i;
            names[i] = node;
            int inFlight = random.nextInt(8);
            candidates.add(new Candidate(node, region, "10.0." + i / 250 + "." + i % 250, 8400, true, "READY",
                    Set.of("llama-3.1-8b"), 8, random.nextInt(3), inFlight,
                    frozen - Duration.ofMillis(random.nextInt(400)).toNanos(),
                    Duration.ofMillis(1 + random.nextInt(80)), false));
            double[] v = new double[NetworkCoordinate.DIMENSIONS];
            for (int d = 0; d < v.length; d++) {
                v[d] = random.nextGaussian() * 0.02;
            }
            probeCoordinates[i] = new NetworkCoordinate(v, 1e-4, 0.3, 0);
            Duration rtt = Duration.ofMillis(1 + random.nextInt(80));
            vivaldi.observed(node, rtt, probeCoordinates[i]);
            changing.observed(node, rtt, probeCoordinates[i]);
            var metadata = new NodeMetadata(region, "10.0." + i / 250 + "." + i % 250, 8400, region + "a", "", "",
                    "READY", List.of(new NodeMetadata.Model("llama-3.1-8b", "1")), 8, "0.1.0");
            members.add(new MemberView(node, new InetSocketAddress(InetAddress.getLoopbackAddress(), 7946),
                    MemberState.ALIVE, 1, metadata, Duration.ofMillis(1 + random.nextInt(80)),
                    new LoadRecord(node, 1, 0, random.nextInt(3), inFlight, 0f), Duration.ofMillis(random.nextInt(400))));
        }
        List<Candidate> fixed = List.copyOf(candidates);
        RoutingConfig d = RoutingConfig.defaults();
        var config = new RoutingConfig(true, d.weightLoad(), d.weightLatency(), d.weightAffinity(),
                d.latencyCeiling(), d.staleLoadAfter(), d.crossRegionPenalty(), d.choices(), d.maxAttempts(),
                d.connectTimeout(), d.breakerFailures(), d.breakerOpenFor(), false,
                List.of("10.34.10.0/24=us-east-1", "vpce-0a1b2c3d=eu-west-1"), d.firstByteTimeout(), d.idleTimeout(),
                d.peerTls());
        var self = new MembershipCandidates.Self() {
            public NodeState state() {
                return NodeState.READY;
            }

            public int queueDepth() {
                return 0;
            }

            public int inFlight() {
                return 3;
            }

            public int capacity() {
                return 8;
            }

            public Set<String> models() {
                return Set.of("llama-3.1-8b");
            }

            public String host() {
                return "10.1.0.1";
            }

            public int port() {
                return 8400;
            }
        };
        var steady = new CandidateSource() {
            @Override
            public String localNode() {
                return "self";
            }

            @Override
            public String localRegion() {
                return "us-west-2";
            }

            @Override
            public Candidate self() {
                // Live, as MembershipCandidates describes this node on every request.
                return new Candidate("self", "us-west-2", self.host(), self.port(), true, self.state().name(),
                        self.models(), self.capacity(), self.queueDepth(), self.inFlight(), frozen, Duration.ZERO,
                        true);
            }

            @Override
            public List<Candidate> peers() {
                return fixed;
            }
        };
        scoring = new Router(config, steady, vivaldi, standingStill, new Random(1), null);
        rescoring = new Router(config, steady, changing, standingStill, new Random(1), null);
        for (int i = 0; i < HOSTS; i += 10) {
            scoring.sent(fixed.get(i).node());
            rescoring.sent(fixed.get(i).node());
        }
        var caches = new PrefixCaches("self", PrefixCaches.Source.NONE);
        requestNames = new long[128];
        for (int i = 0; i < requestNames.length; i++) {
            requestNames[i] = random.nextLong();
        }
        for (int i = 0; i < HOSTS; i++) {
            if (!REGIONS[i % REGIONS.length].equals("us-west-2")) {
                continue; // only region peers send load records, and so cache names
            }
            long[] held = new long[2_000];
            for (int j = 0; j < held.length; j++) {
                held[j] = random.nextLong();
            }
            if (i % 30 == 1) {
                held[0] = requestNames[(i * 7) % requestNames.length]; // a prefix of the request
            }
            for (int from = 0; from < held.length; from += LoadRecord.MAX_CACHE_NAMES) {
                caches.apply(new LoadRecord(names[i], 1 + from, 0, 0, 0, 0f, 1,
                        Arrays.copyOfRange(held, from, Math.min(held.length, from + LoadRecord.MAX_CACHE_NAMES)),
                        new long[0]));
            }
        }
        cached = new Router(config.withCacheAffinity(), steady, vivaldi, caches, standingStill, new Random(1), null);
        for (int i = 0; i < HOSTS; i += 10) {
            cached.sent(fixed.get(i).node());
        }
        whole = new Router(config, new MembershipCandidates("self", "us-west-2", () -> snapshot, java.util.Map::of, self,
                MonotonicClock.system(), false), vivaldi, MonotonicClock.system(), new Random(2), null);
        scores = new double[HOSTS];
        for (int i = 0; i < HOSTS; i++) {
            scores[i] = random.nextDouble();
        }
        source = RequestSource.of(InetAddress.getByName("10.34.10.7"));
    }

    @Benchmark
    public RouteDecision score600() {
        return scoring.decide("llama-3.1-8b", source);
    }

    @Benchmark
    public RouteDecision score600Cached() {
        return cached.decide("llama-3.1-8b", source, requestNames, false);
    }

    @Benchmark
    public RouteDecision score600NewCoordinates() {
        probe = (probe + 1) % HOSTS;
        changing.observed(names[probe], Duration.ofMillis(1 + probe % 80), probeCoordinates[probe]);
        return rescoring.decide("llama-3.1-8b", source);
    }

    @Benchmark
    public RouteDecision decision600() {
        snapshot = List.copyOf(members);
        return whole.decide("llama-3.1-8b", source);
    }

    @Benchmark
    public double[] referenceSort600() {
        double[] copy = Arrays.copyOf(scores, HOSTS);
        Arrays.sort(copy);
        return copy;
    }
}
