package io.gpud.state;

import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The state store of a single node, in this process: the same items and the same
 * conditional-write rules as {@link DynamoStateStore}, each operation atomic under one
 * lock, as each DynamoDB conditional write is atomic on its item. Nothing survives a
 * restart, which a single node does not need.
 */
public final class EmbeddedStateStore implements StateStore {

    private final Map<String, NodeRecord> nodes = new HashMap<>();
    private final Map<String, LeaseRecord> leases = new HashMap<>();
    private final Map<String, DecisionRecord> decisions = new HashMap<>();
    private final Map<String, RegionHealth> regions = new HashMap<>();

    @Override
    public synchronized void putNode(NodeRecord node) {
        nodes.put(node.nodeId(), node);
    }

    @Override
    public synchronized List<NodeRecord> nodes(String region, Instant now) {
        return nodes.values().stream().filter(n -> n.region().equals(region) && n.liveAt(now))
                .sorted(Comparator.comparing(NodeRecord::nodeId)).toList();
    }

    @Override
    public synchronized Optional<LeaseRecord> lease(String region, String pool) {
        return Optional.ofNullable(leases.get(LeaseRecord.key(region, pool)));
    }

    @Override
    public synchronized LeaseWrite acquire(String region, String pool, String holder, OptionalLong expectedVersion,
            Instant now) {
        String key = LeaseRecord.key(region, pool);
        LeaseRecord current = leases.get(key);
        if (expectedVersion.isEmpty() ? current != null
                : current == null || current.version() != expectedVersion.getAsLong()) {
            return new LeaseWrite.Lost();
        }
        var next = current == null
                ? new LeaseRecord(region, pool, holder, 1, 1, now)
                : new LeaseRecord(region, pool, holder, current.epoch() + 1, current.version() + 1, now);
        leases.put(key, next);
        return new LeaseWrite.Won(next);
    }

    @Override
    public synchronized LeaseWrite renew(LeaseRecord held, Instant now) {
        String key = LeaseRecord.key(held.region(), held.pool());
        LeaseRecord current = leases.get(key);
        if (!heldBy(current, held.holder(), held.epoch())) {
            return new LeaseWrite.Lost();
        }
        var next = new LeaseRecord(held.region(), held.pool(), held.holder(), current.epoch(), current.version() + 1,
                now);
        leases.put(key, next);
        return new LeaseWrite.Won(next);
    }

    @Override
    public synchronized void release(LeaseRecord held, Instant now) {
        String key = LeaseRecord.key(held.region(), held.pool());
        LeaseRecord current = leases.get(key);
        if (heldBy(current, held.holder(), held.epoch())) {
            leases.put(key, new LeaseRecord(held.region(), held.pool(), "", current.epoch(), current.version() + 1,
                    now));
        }
    }

    private static boolean heldBy(LeaseRecord lease, String holder, long epoch) {
        return lease != null && lease.holder().equals(holder) && lease.epoch() == epoch;
    }

    @Override
    public synchronized RecordOutcome recordDecision(String region, String pool, String holder, long epoch,
            int desired, String reason, Instant at) {
        String key = LeaseRecord.key(region, pool);
        LeaseRecord lease = leases.get(key);
        if (!heldBy(lease, holder, epoch)) {
            return new Fenced("lease of " + key + " is " + (lease == null ? "absent"
                    : "held by '" + lease.holder() + "' at epoch " + lease.epoch()) + ", not by '" + holder
                    + "' at epoch " + epoch);
        }
        DecisionRecord last = decisions.get(key);
        if (last != null && last.epoch() > epoch) {
            return new Fenced("a decision of epoch " + last.epoch() + " is already recorded");
        }
        decisions.put(key, new DecisionRecord(region, pool, holder, epoch, desired, reason, at));
        return new Recorded(epoch);
    }

    @Override
    public synchronized Optional<DecisionRecord> lastDecision(String region, String pool) {
        return Optional.ofNullable(decisions.get(LeaseRecord.key(region, pool)));
    }

    @Override
    public OptionalInt lastDesired(String region, String pool) {
        return lastDecision(region, pool).map(d -> OptionalInt.of(d.desired())).orElse(OptionalInt.empty());
    }

    @Override
    public synchronized void putRegionHealth(RegionHealth health) {
        regions.put(health.region(), health);
    }

    @Override
    public synchronized List<RegionHealth> regions(Instant now) {
        return regions.values().stream().filter(r -> now.isBefore(r.expiresAt()))
                .sorted(Comparator.comparing(RegionHealth::region)).toList();
    }

    @Override
    public void close() {
    }
}
