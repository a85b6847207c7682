package io.gpud.state;

import java.time.Instant;

/**
 * The last scaling decision of a region's pool.
 *
 * @param region    the region
 * @param pool      the pool
 * @param holder    the leader that made it
 * @param epoch     the lease epoch it was made under
 * @param desired   the desired capacity it set
 * @param reason    why, one line
 * @param decidedAt when
 */
public record DecisionRecord(String region, String pool, String holder, long epoch, int desired, String reason,
        Instant decidedAt) {
}
