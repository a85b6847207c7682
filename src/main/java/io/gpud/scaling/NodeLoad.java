package io.gpud.scaling;

import java.time.Instant;

/**
 * What one node last reported about its load, as the autoscaler reads it from the node
 * registry.
 *
 * @param nodeId        the reporting node
 * @param pool          its pool, or null
 * @param requestsTotal its cumulative count of inference requests admitted since it started
 * @param queueDepth    requests it had queued
 * @param reportedAt    when it reported (its own wall clock)
 */
public record NodeLoad(String nodeId, String pool, long requestsTotal, int queueDepth, Instant reportedAt) {
}
