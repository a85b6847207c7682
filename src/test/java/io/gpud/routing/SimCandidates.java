package io.gpud.routing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A hand-made cluster view for router tests: hosts added and changed by the test. Load
 * records are stamped on a test clock that starts at {@link #START_NANOS}.
 */
final class SimCandidates implements CandidateSource {

    /** Where the tests' clocks start. */
    static final long START_NANOS = 1_000_000_000L;

    private final String self;
    private final String region;
    private volatile Candidate selfCandidate;
    private volatile List<Candidate> hosts = List.of();

    SimCandidates(String self, String region) {
        this.self = self;
        this.region = region;
    }

    /** A READY host serving "m" whose load record is 100 ms old at the start. */
    static Candidate host(String node, String region, double rttMs, int inFlight) {
        return new Candidate(node, region, "127.0.0.1", 1, true, "READY", Set.of("m"), 8, 0, inFlight,
                loadAgo(Duration.ofMillis(100)), Duration.ofNanos((long) (rttMs * 1e6)), false);
    }

    /** The load-record instant of a record {@code age} old at the start. */
    static long loadAgo(Duration age) {
        return START_NANOS - age.toNanos();
    }

    /** Adds a peer, or sets this node when {@code c.self()}. */
    SimCandidates add(Candidate c) {
        if (c.self()) {
            selfCandidate = c;
            return this;
        }
        var next = new ArrayList<>(hosts);
        next.add(c);
        hosts = List.copyOf(next);
        return this;
    }

    SimCandidates remove(String node) {
        if (selfCandidate != null && selfCandidate.node().equals(node)) {
            selfCandidate = null;
        }
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
    public Candidate self() {
        return selfCandidate;
    }

    @Override
    public List<Candidate> peers() {
        return hosts;
    }
}
