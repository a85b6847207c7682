package io.gpud.routing;

import io.gpud.core.MonotonicClock;
import io.gpud.core.NodeState;
import io.gpud.membership.MemberState;
import io.gpud.membership.MemberView;
import io.gpud.membership.NodeMetadata;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Candidates from the gossip pool's member snapshot. Members are converted once per
 * snapshot (the agent publishes a new one at most every 100 ms); load ages are advanced by
 * the time since the snapshot was first seen. This node itself is described live: its
 * state and load come straight from the node, not from its own gossip.
 */
public final class MembershipCandidates implements CandidateSource {

    /** This node as it is right now. */
    public interface Self {
        NodeState state();

        int queueDepth();

        int inFlight();

        int capacity();

        Set<String> models();

        String host();

        int port();
    }

    private final String node;
    private final String region;
    private final Supplier<List<MemberView>> members;
    private final Self self;
    private final MonotonicClock clock;
    private volatile Converted converted;

    private record Converted(List<MemberView> snapshot, long seenNanos, List<Candidate> peers) {
    }

    /**
     * @param members the agent's snapshot supplier ({@code MembershipAgent::members})
     */
    public MembershipCandidates(String node, String region, Supplier<List<MemberView>> members, Self self,
                                MonotonicClock clock) {
        this.node = node;
        this.region = region;
        this.members = members;
        this.self = self;
        this.clock = clock;
    }

    @Override
    public String localNode() {
        return node;
    }

    @Override
    public String localRegion() {
        return region;
    }

    @Override
    public List<Candidate> candidates() {
        List<MemberView> snapshot = members.get();
        long now = clock.nanos();
        Converted c = converted;
        if (c == null || c.snapshot() != snapshot) {
            c = new Converted(snapshot, now, convert(snapshot));
            converted = c;
        }
        Duration sinceSnapshot = Duration.ofNanos(now - c.seenNanos());
        var out = new ArrayList<Candidate>(c.peers().size() + 1);
        out.add(new Candidate(node, region, self.host(), self.port(), true, self.state().name(), self.models(),
                Math.max(1, self.capacity()), self.queueDepth(), self.inFlight(), Duration.ZERO, Duration.ZERO,
                true));
        for (Candidate p : c.peers()) {
            out.add(p.loadAge() == null || sinceSnapshot.isZero() ? p : new Candidate(p.node(), p.region(),
                    p.host(), p.port(), p.alive(), p.nodeState(), p.models(), p.capacity(), p.queueDepth(),
                    p.inFlight(), p.loadAge().plus(sinceSnapshot), p.probeRtt(), false));
        }
        return out;
    }

    private List<Candidate> convert(List<MemberView> snapshot) {
        var out = new ArrayList<Candidate>(snapshot.size());
        for (MemberView m : snapshot) {
            if (m.node().equals(node) || !(m.state() == MemberState.ALIVE || m.state() == MemberState.SUSPECT)) {
                continue;
            }
            NodeMetadata md = m.metadata();
            if (md.dataPort() <= 0 || md.dataAddress().isEmpty()) {
                continue;
            }
            Set<String> models = new HashSet<>();
            for (NodeMetadata.Model model : md.models()) {
                models.add(model.name());
            }
            String host = md.dataAddress().equals("0.0.0.0") ? m.address().getAddress().getHostAddress()
                    : md.dataAddress();
            var load = m.load();
            out.add(new Candidate(m.node(), md.region(), host, md.dataPort(), m.state() == MemberState.ALIVE,
                    md.nodeState(), models, Math.max(1, md.capacity()), load == null ? 0 : load.queueDepth(),
                    load == null ? 0 : load.inFlight(), load == null ? null : m.loadAge(), m.rtt(), false));
        }
        return List.copyOf(out);
    }
}
