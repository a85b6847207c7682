package io.gpud.state;

import io.gpud.scaling.NodeLoad;
import io.gpud.scaling.ScalingState;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The cluster's cross-region state. Implementations: {@link DynamoStateStore} (DynamoDB
 * global tables) and {@link EmbeddedStateStore} (one process).
 *
 * <p>Lease writes are conditional and answer {@link LeaseWrite}; in DynamoDB a condition
 * holds only within one region's replica, which is why each contender writes its own
 * region's leases through its own region's endpoint.
 */
public interface StateStore extends ScalingState, AutoCloseable {

    /** Writes this node's registry item (its only writer). */
    void putNode(NodeRecord node);

    /** The registry items of {@code region} that are live at {@code now}. */
    List<NodeRecord> nodes(String region, Instant now);

    /** The autoscaler's view of {@link #nodes}. */
    @Override
    default List<NodeLoad> liveNodes(String region, Instant now) {
        return nodes(region, now).stream()
                .map(n -> new NodeLoad(n.nodeId(), n.pool(), n.requestsTotal(), n.queueDepth(), n.reportedAt()))
                .toList();
    }

    /** The lease of a region's pool, if it was ever written. */
    Optional<LeaseRecord> lease(String region, String pool);

    /**
     * Takes the lease for {@code holder}, with the epoch one higher, if its version is
     * still {@code expectedVersion} (empty: if there is no lease item yet).
     */
    LeaseWrite acquire(String region, String pool, String holder, OptionalLong expectedVersion, Instant now);

    /** Renews {@code held} (bumps its version) if its holder and epoch are unchanged. */
    LeaseWrite renew(LeaseRecord held, Instant now);

    /** Gives {@code held} up so a contender can take it at once; nothing if it has moved on. */
    void release(LeaseRecord held, Instant now);

    /** The last recorded decision of a region's pool. */
    Optional<DecisionRecord> lastDecision(String region, String pool);

    /** Writes a region's health summary. */
    void putRegionHealth(RegionHealth health);

    /** The region summaries that are live at {@code now}. */
    List<RegionHealth> regions(Instant now);

    @Override
    void close();
}
