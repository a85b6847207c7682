package io.gpud.state;

import java.time.Instant;

/**
 * A node registry item. Each node writes only its own item (one writer per item, so no
 * conditional writes are needed), every {@code state.reportEvery}.
 *
 * @param nodeId        the key
 * @param region        the node's region
 * @param pool          its pool, or null
 * @param address       host:port of its data plane
 * @param state         its node state (READY, DRAINING, ...)
 * @param requestsTotal inference requests admitted since it started
 * @param inFlight      sequences admitted and not finished
 * @param queueDepth    sequences waiting to start
 * @param reportedAt    when it wrote the item
 * @param expiresAt     after this the item counts as gone; also DynamoDB's TTL attribute
 */
public record NodeRecord(String nodeId, String region, String pool, String address, String state,
        long requestsTotal, int inFlight, int queueDepth, Instant reportedAt, Instant expiresAt) {

    public NodeRecord {
        if (nodeId == null || nodeId.isBlank() || region == null || region.isBlank()) {
            throw new IllegalArgumentException("nodeId '" + nodeId + "' and region '" + region + "' must be given");
        }
        if (reportedAt == null || expiresAt == null || !expiresAt.isAfter(reportedAt)) {
            throw new IllegalArgumentException("expiresAt " + expiresAt + " must be after reportedAt " + reportedAt);
        }
    }

    /** Whether a reader at {@code now} may still trust the item. */
    public boolean liveAt(Instant now) {
        return now.isBefore(expiresAt);
    }
}
