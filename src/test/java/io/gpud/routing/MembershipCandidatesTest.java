package io.gpud.routing;

import io.gpud.config.RoutingConfig;
import io.gpud.core.NodeState;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.MemberState;
import io.gpud.membership.MemberView;
import io.gpud.membership.NodeMetadata;
import io.gpud.membership.RegionSummary;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MembershipCandidatesTest {

    private final AtomicLong now = new AtomicLong(5_000_000_000L);

    /** This node: serves the model, but is drained, so the router must look elsewhere. */
    private static final class DrainedSelf implements MembershipCandidates.Self {
        public NodeState state() {
            return NodeState.DRAINING;
        }

        public int queueDepth() {
            return 0;
        }

        public int inFlight() {
            return 0;
        }

        public int capacity() {
            return 4;
        }

        public Set<String> models() {
            return Set.of("m");
        }

        public String host() {
            return "127.0.0.1";
        }

        public int port() {
            return 8400;
        }
    }

    private static RegionSummary summary(String region, Instant at, RegionSummary.Host... hosts) {
        return new RegionSummary(region, hosts.length, 8, List.of(new RegionSummary.ModelHosts("m", List.of(hosts))),
                "bridge-" + region, 1, at, new InetSocketAddress("127.0.0.1", 7947));
    }

    private static MemberView member(String node, String region, LoadRecord load, Duration loadAge) {
        var md = new NodeMetadata(region, "10.1.0.7", 8400, "", "", "", "READY",
                List.of(new NodeMetadata.Model("m", "v1")), 4, "test");
        return new MemberView(node, new InetSocketAddress("10.1.0.7", 7946), MemberState.ALIVE, 1, md, null, load,
                loadAge);
    }

    private MembershipCandidates source(List<MemberView> members, Map<String, RegionSummary> summaries) {
        return new MembershipCandidates("self", "us-east-1", () -> members, () -> summaries, new DrainedSelf(),
                now::get, false);
    }

    @Test
    void hostsOnlyASummaryNamesBecomeCandidatesWithItsLoad() {
        Instant at = Instant.now().minusMillis(400);
        var regions = Map.of(
                "us-east-1", summary("us-east-1", at, new RegionSummary.Host("e9", "10.0.0.9:8400", 0, 0, 4)),
                "us-west-2", summary("us-west-2", at, new RegionSummary.Host("w1", "10.2.0.1:8400", 1, 2, 4)));
        List<Candidate> all = source(List.of(), regions).peers();

        assertEquals(1, all.size(), "w1; the own region's summary adds nothing: " + all);
        Candidate w1 = all.get(0);
        assertEquals("w1", w1.node());
        assertEquals("us-west-2", w1.region());
        assertEquals("10.2.0.1", w1.host());
        assertEquals(8400, w1.port());
        assertEquals(1, w1.queueDepth());
        assertEquals(2, w1.inFlight());
        assertEquals(Set.of("m"), w1.models());
        Duration age = w1.loadAge(now.get());
        assertTrue(age.compareTo(Duration.ofMillis(400)) >= 0, "aged by the summary's age: " + age);
    }

    @Test
    void aSummaryFillsInTheLoadOfAMemberThatSendsNoneAndNeverReplacesNewerLoad() {
        Instant at = Instant.now().minusMillis(300);
        var regions = Map.of("us-west-2", summary("us-west-2", at,
                new RegionSummary.Host("w1", "10.2.0.1:8400", 3, 1, 4),
                new RegionSummary.Host("w2", "10.2.0.2:8400", 3, 1, 4)));
        var fresh = new LoadRecord("w2", 9, 0, 0, 0, 0f);
        List<Candidate> all = source(List.of(member("w1", "us-west-2", null, null),
                member("w2", "us-west-2", fresh, Duration.ofMillis(50))), regions).peers();

        Candidate w1 = all.stream().filter(c -> c.node().equals("w1")).findFirst().orElseThrow();
        assertEquals(3, w1.queueDepth());
        assertEquals("10.1.0.7", w1.host(), "the member's own address wins over the summary's");
        Candidate w2 = all.stream().filter(c -> c.node().equals("w2")).findFirst().orElseThrow();
        assertEquals(0, w2.queueDepth(), "its own 50 ms old record is newer than the summary");
        assertEquals(Duration.ofMillis(50), w2.loadAge(now.get()));
    }

    @Test
    void unusableAddressesInASummaryAreSkipped() {
        var regions = Map.of("us-west-2", summary("us-west-2", Instant.now(),
                new RegionSummary.Host("w1", "no-port", 0, 0, 4),
                new RegionSummary.Host("w2", "10.2.0.2:http", 0, 0, 4),
                new RegionSummary.Host("w3", "10.2.0.3:0", 0, 0, 4)));
        assertEquals(0, source(List.of(), regions).peers().size());
    }

    @Test
    void theRouterFailsOverToAHostKnownOnlyFromARegionSummary() {
        var summaries = new AtomicReference<Map<String, RegionSummary>>(Map.of());
        var source = new MembershipCandidates("self", "us-east-1", List::of, summaries::get, new DrainedSelf(),
                now::get, false);
        var router = new Router(RoutingConfig.defaults(), source, null, now::get, new Random(3), null);

        assertFalse(router.decide("m", RequestSource.unknown(), false) instanceof RouteDecision.Forward,
                "nobody to forward to before a summary arrives");

        // one and a half seconds old: past staleLoadAfter for a local host, fresh for a remote one
        summaries.set(Map.of("us-west-2", summary("us-west-2", Instant.now().minusMillis(1500),
                new RegionSummary.Host("w1", "10.2.0.1:8400", 0, 0, 4))));
        var forward = assertInstanceOf(RouteDecision.Forward.class, router.decide("m", RequestSource.unknown(), true));
        assertEquals("w1", forward.targets().getFirst().node());
        var line = forward.explanation().candidates().stream().filter(l -> l.node().equals("w1")).findFirst()
                .orElseThrow();
        assertFalse(line.saturated(), "a remote host's summary load is not stale at 1.5 s: " + line);

        summaries.set(Map.of("us-west-2", summary("us-west-2", Instant.now().minusSeconds(10),
                new RegionSummary.Host("w1", "10.2.0.1:8400", 0, 0, 4))));
        var old = router.decide("m", RequestSource.unknown(), true);
        var oldLine = switch (old) {
            case RouteDecision.Forward f -> f.explanation();
            case RouteDecision.Local l -> l.explanation();
            case RouteDecision.NoCandidate n -> n.explanation();
        };
        assertTrue(oldLine.candidates().stream().filter(l -> l.node().equals("w1")).findFirst().orElseThrow()
                .saturated(), "a 10 s old summary is stale");
    }
}
