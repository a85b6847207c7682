package io.gpud.routing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** A hand-made cluster view for router tests: hosts added and changed by the test. */
final class SimCandidates implements CandidateSource {

    private final String self;
    private final String region;
    private volatile List<Candidate> hosts = List.of();

    SimCandidates(String self, String region) {
        this.self = self;
        this.region = region;
    }

    static Candidate host(String node, String region, double rttMs, int inFlight) {
        return new Candidate(node, region, "127.0.0.1", 1, true, "READY", Set.of("m"), 8, 0, inFlight,
                Duration.ofMillis(100), Duration.ofNanos((long) (rttMs * 1e6)), false);
    }

    SimCandidates add(Candidate c) {
        var next = new ArrayList<>(hosts);
        next.add(c);
        hosts = List.copyOf(next);
        return this;
    }

    SimCandidates remove(String node) {
        hosts = hosts.stream().filter(c -> !c.node().equals(node)).toList();
        return this;
    }

    @Override
    public String localNode() {
        return self;
    }

    @Override
    public String localRegion() {
        return region;
    }

    @Override
    public List<Candidate> candidates() {
        return hosts;
    }
}
