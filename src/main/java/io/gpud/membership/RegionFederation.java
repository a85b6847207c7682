package io.gpud.membership;

import io.gpud.config.MembershipConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * This node's side of the WAN federation: a pure state machine, like {@link SwimProtocol},
 * driven on the protocol thread with the current time; the real daemon and the simulator
 * run this very class.
 *
 * <p>It logs nothing and reads no clock: its driver reports what it sees ({@link #bridge()}).
 * Once a second ({@link #SUMMARY_EVERY}) every node reads its LAN member table as
 * immutable {@link MemberView}s and
 * <ol>
 *   <li>elects its region's bridges ({@link RegionBridges#elect}: the live members with
 *       the lowest ids). A node newly elected starts a WAN pool protocol and joins it
 *       through the configured WAN seeds and the bridges of other regions that earlier
 *       summaries named; a node no longer elected leaves it. Every node of a region reads
 *       nearly the same table, so they agree on the bridges without talking about it;
 *       when a bridge dies, the next id takes its place as soon as the death has spread.</li>
 *   <li>summarizes its region ({@link RegionBridges#summarize}) and keeps the summary as
 *       its own region's.</li>
 *   <li>if it is a bridge: sends that summary to every live WAN member of another region,
 *       and relays the newest summary of each other region that came across the WAN pool
 *       since the last tick to its share of the region: with bridges {@code b0..bk-1} and
 *       the other live members sorted by id, bridge {@code bi} takes members
 *       {@code i, i + k, i + 2k, ...}. The other bridges hear the WAN pool themselves.</li>
 * </ol>
 * A node keeps the newest summary per region (a summary replaces the one it holds unless
 * both come from the same bridge and the held one is at least as new) and forgets a region
 * not heard from for {@link #SUMMARY_EXPIRY}.
 */
final class RegionFederation implements Federation {

    /** How often a node elects, summarizes, sends across and relays. */
    static final Duration SUMMARY_EVERY = Duration.ofSeconds(1);
    /** A region not heard from for this long is dropped from the summaries. */
    static final Duration SUMMARY_EXPIRY = Duration.ofSeconds(60);

    /**
     * Where this node's WAN pool protocol lives while it is a bridge.
     *
     * @param address   its WAN pool address, as other bridges reach it
     * @param transport the sockets of the WAN pool's port
     * @param metrics   the WAN pool's counters
     * @param bridges   bridges per region
     * @param seeds     the configured WAN seeds, read at each election (they may be names
     *                  that resolve only later)
     */
    record WanPool(InetSocketAddress address, Transport transport, MembershipMetrics metrics, int bridges,
                   Supplier<List<InetSocketAddress>> seeds) {
    }

    /** A region's newest summary and when it arrived, on the protocol's clock. */
    record Received(Message.Summary summary, long receivedNanos) {
    }

    private final String self;
    private final SwimProtocol lan;
    private final WanPool pool;
    private final RandomGenerator random;
    private final Supplier<LoadRecord> load;
    /** The most bytes a summary may take: one LAN datagram, with room for the envelope. */
    private final int maxSummaryBytes;
    private NodeMetadata metadata;
    /** The WAN pool protocol while this node is a bridge; null otherwise. */
    private SwimProtocol wan;
    private long summarySeq;
    private long nextTickNanos;
    private final Map<String, Received> regions = new HashMap<>();
    /** The newest summary per other region that came across since the last tick. */
    private final Map<String, Message.Summary> toRelay = new HashMap<>();
    private int regionsRelayed;
    private boolean changed;

    /**
     * @param lan       this node's LAN pool: what it summarizes, and how it relays
     * @param lanTiming that pool's timing (its datagram size bounds a summary)
     * @param load      this node's own load for its summaries, or null for none
     */
    RegionFederation(String self, NodeMetadata metadata, SwimProtocol lan, MembershipConfig lanTiming, WanPool pool,
                     RandomGenerator random, Supplier<LoadRecord> load, long now) {
        this.self = self;
        this.metadata = metadata;
        this.lan = lan;
        this.pool = pool;
        this.random = random;
        this.load = load;
        this.maxSummaryBytes = lanTiming.maxPacketBytes() - 64;
        // The first tick somewhere in the first second, so that nodes started together do
        // not all summarize and relay in lock step.
        this.nextTickNanos = now + random.nextLong(SUMMARY_EVERY.toNanos());
        lan.onSummary(this::onRelayedSummary);
    }

    // ---------------------------------------------------------------- driver interface

    @Override
    public long nextDeadline() {
        return wan == null ? nextTickNanos : Math.min(nextTickNanos, wan.nextDeadline());
    }

    @Override
    public void onTimers(long now) {
        if (wan != null) {
            wan.onTimers(now);
        }
        if (now >= nextTickNanos) {
            nextTickNanos = now + SUMMARY_EVERY.toNanos();
            tick(now);
        }
    }

    /** A WAN datagram: for the WAN pool protocol if this node is a bridge, dropped if not. */
    @Override
    public void onPacket(InetSocketAddress from, byte[] packet, long now) {
        if (wan != null) {
            wan.onPacket(from, packet, now);
        }
    }

    @Override
    public void onStream(InetSocketAddress from, byte[] frame, long now) {
        if (wan != null) {
            wan.onStream(from, frame, now);
        }
    }

    // ---------------------------------------------------------------- the tick

    private void tick(long now) {
        String region = metadata.region();
        List<MemberView> table = lan.snapshot(now);
        List<String> bridges = RegionBridges.elect(table, region, pool.bridges());
        boolean elected = bridges.contains(self);
        if (elected && wan == null) {
            joinWanPool(region, now);
        } else if (!elected && wan != null) {
            wan.leave(now);
            wan = null;
        }
        Message.Summary own = RegionBridges.summarize(table, region, self, load == null ? null : load.get(),
                metadata.peerPort() > 0, pool.address(), ++summarySeq, maxSummaryBytes);
        store(own, now);
        regionsRelayed = 0;
        if (wan != null) {
            sendAcross(own, region, now);
            relay(table, bridges, region);
        }
        toRelay.clear();
        changed |= regions.values().removeIf(r -> now - r.receivedNanos() > SUMMARY_EXPIRY.toNanos());
    }

    private void joinWanPool(String region, long now) {
        var seeds = new ArrayList<>(pool.seeds().get());
        // Bridges of other regions, as their summaries name them.
        for (Received r : regions.values()) {
            if (!r.summary().region().equals(region)) {
                seeds.add(r.summary().bridgeWan());
            }
        }
        wan = new SwimProtocol(self, pool.address(), metadata, MembershipConfig.wan(), lan.keyring(), pool.transport(),
                random, pool.metrics(), seeds, null, now);
        wan.onSummary(this::onWanSummary);
    }

    /** This region's summary to every live member of the WAN pool from another region. */
    private void sendAcross(Message.Summary own, String region, long now) {
        for (MemberView m : wan.snapshot(now)) {
            if (m.live() && !m.node().equals(self) && !region.equals(m.metadata().region())) {
                wan.sendDirect(m.address(), own);
            }
        }
    }

    /** What came across since the last tick, to this bridge's share of the region. */
    private void relay(List<MemberView> table, List<String> bridges, String region) {
        List<MemberView> peers = table.stream().filter(m -> m.live() && !bridges.contains(m.node())
                && region.equals(m.metadata().region())).toList();   // sorted by id, as the table is
        int share = bridges.indexOf(self);
        for (Message.Summary r : toRelay.values()) {
            for (int i = share; i < peers.size(); i += bridges.size()) {
                lan.sendDirect(peers.get(i).address(), r);
            }
        }
        regionsRelayed = toRelay.size();
    }

    /** A summary from another region, straight from the WAN pool: keep it and relay it. */
    private void onWanSummary(Message.Summary r, long now) {
        if (!r.region().equals(metadata.region())) {
            store(r, now);
            toRelay.put(r.region(), r);
        }
    }

    /** A summary relayed by one of this region's bridges. */
    private void onRelayedSummary(Message.Summary r, long now) {
        if (!r.region().equals(metadata.region())) {
            store(r, now);
        }
    }

    private void store(Message.Summary r, long now) {
        Received old = regions.get(r.region());
        if (old != null && old.summary().bridge().equals(r.bridge()) && old.summary().sequence() >= r.sequence()) {
            return;
        }
        regions.put(r.region(), new Received(r, now));
        changed = true;
    }

    // ---------------------------------------------------------------- commands and views

    @Override
    public void updateMetadata(NodeMetadata next, long now) {
        metadata = next;
        if (wan != null) {
            wan.updateMetadata(next, now);
        }
    }

    @Override
    public void setKeyring(Keyring keyring) {
        if (wan != null) {
            wan.setKeyring(keyring);
        }
    }

    @Override
    public void leave(long now) {
        if (wan != null) {
            wan.leave(now);
        }
    }

    @Override
    public boolean bridge() {
        return wan != null;
    }

    @Override
    public boolean takeSummariesChanged() {
        boolean c = changed;
        changed = false;
        return c;
    }

    @Override
    public Map<String, RegionSummary> summaries(long now, Instant wallNow) {
        var out = new HashMap<String, RegionSummary>();
        for (Received r : regions.values()) {
            Message.Summary s = r.summary();
            out.put(s.region(), new RegionSummary(s.region(), s.healthyHosts(), s.capacity(), s.models(), s.bridge(),
                    s.sequence(), wallNow.minusNanos(now - r.receivedNanos()), s.bridgeWan()));
        }
        return Map.copyOf(out);
    }

    /** The newest summary of {@code region} and when it came, or null. */
    Received summary(String region) {
        return regions.get(region);
    }

    /** How many other regions' summaries this node relayed at its last tick (0 unless a bridge). */
    int regionsRelayed() {
        return regionsRelayed;
    }

    /** The WAN pool protocol while this node is a bridge, or null: for the simulator's invariants. */
    SwimProtocol wan() {
        return wan;
    }
}
