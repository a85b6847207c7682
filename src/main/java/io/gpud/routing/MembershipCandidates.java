package io.gpud.routing;

import io.gpud.core.MonotonicClock;
import io.gpud.core.NodeState;
import io.gpud.membership.MemberState;
import io.gpud.membership.MemberView;
import io.gpud.membership.NodeMetadata;
import io.gpud.membership.RegionSummary;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Candidates from the gossip pool's member snapshot. Members are converted once per
 * snapshot (the agent publishes a new one at most every 100 ms) into a list that
 * {@link #peers()} returns unchanged until the next snapshot, so the router compiles it
 * once: each load record's age in the snapshot becomes the instant it was taken (the
 * moment the snapshot was first seen minus that age), which stays right as time passes.
 * This node itself is described live: its state and load come straight from the node, not
 * from its own gossip.
 *
 * <p>Hosts of other regions come from the WAN pool's region summaries as well: each lists,
 * per model, the least-loaded READY hosts of its region with their queue and in-flight
 * counts. Members of other regions send this node no load records, so a summary's figures
 * (aged by the summary's age) stand in for them; a host that only a summary names is added
 * with what the summary says. Summaries arrive once a second through the bridges, so the
 * router gives remote load records more time before it calls them stale.
 *
 * <p>With peer TLS a candidate's port is its peer listener's, and a member that gossips none
 * (it runs without peer TLS, or an older version) is no candidate: it could not prove it is
 * a cluster member. Without peer TLS it is the data port, as before. A region summary lists
 * its hosts the same way, by the summarizing node's own setting: at their peer listeners,
 * leaving out hosts with none, when it runs peer TLS.
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
    private final Supplier<Map<String, RegionSummary>> summaries;
    private final Self self;
    private final MonotonicClock clock;
    private final boolean peerTls;
    private volatile Converted converted;

    private record Converted(List<MemberView> snapshot, Map<String, RegionSummary> summaries,
                             List<Candidate> peers) {
    }

    /**
     * @param members   the agent's snapshot supplier ({@code MembershipAgent::members})
     * @param summaries the agent's region summaries ({@code MembershipAgent::regionSummaries});
     *                  an empty map while the WAN pool is off
     * @param peerTls   forwards go to peers' TLS listeners: candidates are the members that
     *                  gossip one, at its port
     */
    public MembershipCandidates(String node, String region, Supplier<List<MemberView>> members,
                                Supplier<Map<String, RegionSummary>> summaries, Self self, MonotonicClock clock,
                                boolean peerTls) {
        this.node = node;
        this.region = region;
        this.members = members;
        this.summaries = summaries;
        this.self = self;
        this.clock = clock;
        this.peerTls = peerTls;
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
    public Candidate self() {
        return new Candidate(node, region, self.host(), self.port(), true, self.state().name(), self.models(),
                Math.max(1, self.capacity()), self.queueDepth(), self.inFlight(), clock.nanos(), Duration.ZERO, true);
    }

    @Override
    public List<Candidate> peers() {
        List<MemberView> snapshot = members.get();
        Map<String, RegionSummary> regions = summaries.get();
        Converted c = converted;
        if (c == null || c.snapshot() != snapshot || c.summaries() != regions) {
            long now = clock.nanos();
            c = new Converted(snapshot, regions, withSummaries(convert(snapshot, now), regions, now, Instant.now()));
            converted = c;
        }
        return c.peers();
    }

    private List<Candidate> convert(List<MemberView> snapshot, long nowNanos) {
        var out = new ArrayList<Candidate>(snapshot.size());
        for (MemberView m : snapshot) {
            if (m.node().equals(node) || !(m.state() == MemberState.ALIVE || m.state() == MemberState.SUSPECT)) {
                continue;
            }
            NodeMetadata md = m.metadata();
            int port = peerTls ? md.peerPort() : md.dataPort();
            if (port <= 0 || md.dataAddress().isEmpty()) {
                continue;
            }
            var models = new ArrayList<String>(md.models().size());
            for (NodeMetadata.Model model : md.models()) {
                models.add(model.name());
            }
            String host = md.dataAddress().equals("0.0.0.0") ? m.address().getAddress().getHostAddress()
                    : md.dataAddress();
            var load = m.load();
            out.add(new Candidate(m.node(), md.region(), host, port, m.state() == MemberState.ALIVE,
                    md.nodeState(), Set.copyOf(models), Math.max(1, md.capacity()), load == null ? 0 : load.queueDepth(),
                    load == null ? 0 : load.inFlight(), load == null || m.loadAge() == null ? Candidate.NO_LOAD
                    : nowNanos - m.loadAge().toNanos(), m.rtt(), false));
        }
        return List.copyOf(out);
    }

    /**
     * {@code peers} with the hosts of other regions' summaries: a listed member takes the
     * summary's load when it has no newer load record of its own; an unlisted host is added.
     */
    private List<Candidate> withSummaries(List<Candidate> peers, Map<String, RegionSummary> regions, long nowNanos,
                                          Instant now) {
        if (regions.isEmpty()) {
            return peers;
        }
        var byNode = new LinkedHashMap<String, Candidate>();
        for (Candidate p : peers) {
            byNode.put(p.node(), p);
        }
        for (RegionSummary summary : regions.values()) {
            if (summary.region().equals(region)) {
                continue;
            }
            Duration age = Duration.between(summary.receivedAt(), now);
            long loadAt = nowNanos - Math.max(0, age.toNanos());
            for (RegionSummary.ModelHosts model : summary.models()) {
                for (RegionSummary.Host h : model.hosts()) {
                    if (h.nodeId().equals(node)) {
                        continue;
                    }
                    Candidate known = byNode.get(h.nodeId());
                    if (known == null) {
                        int colon = h.dataAddress().lastIndexOf(':');
                        int port;
                        try {
                            port = colon < 0 ? -1 : Integer.parseInt(h.dataAddress().substring(colon + 1));
                        } catch (NumberFormatException e) {
                            port = -1;
                        }
                        if (port <= 0) {
                            continue;
                        }
                        byNode.put(h.nodeId(), new Candidate(h.nodeId(), summary.region(),
                                h.dataAddress().substring(0, colon), port, true, NodeState.READY.name(),
                                Set.of(model.model()), Math.max(1, h.capacity()), h.queueDepth(), h.inFlight(),
                                loadAt, null, false));
                        continue;
                    }
                    Set<String> models = new HashSet<>(known.models());
                    models.add(model.model());
                    boolean newer = !known.hasLoad() || known.loadAtNanos() - loadAt < 0;
                    byNode.put(h.nodeId(), new Candidate(known.node(), known.region(), known.host(), known.port(),
                            known.alive(), known.nodeState(), models, newer ? Math.max(1, h.capacity()) : known.capacity(),
                            newer ? h.queueDepth() : known.queueDepth(), newer ? h.inFlight() : known.inFlight(),
                            newer ? loadAt : known.loadAtNanos(), known.probeRtt(), false));
                }
            }
        }
        return List.copyOf(byNode.values());
    }
}
