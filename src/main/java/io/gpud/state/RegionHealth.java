package io.gpud.state;

import java.time.Instant;

/**
 * A region's health as one of its nodes last summarised it.
 *
 * @param region       the region, the key
 * @param readyNodes   nodes READY in its node registry
 * @param totalNodes   nodes with a live registry item
 * @param reporter     the node that wrote it
 * @param reportedAt   when
 * @param expiresAt    after this a reader treats the region as unknown
 */
public record RegionHealth(String region, int readyNodes, int totalNodes, String reporter, Instant reportedAt,
        Instant expiresAt) {
}
