package io.gpud.state;

import java.time.Instant;

/**
 * A lease item, one per region per pool.
 *
 * @param region    the region whose pool it leads
 * @param pool      the pool
 * @param holder    the node holding it; empty once released
 * @param epoch     the fencing token: grows by one each time the lease changes hands, so
 *                  each epoch belongs to exactly one holder
 * @param version   grows by one on every write (acquire, renew, release); a contender
 *                  that sees it unchanged for a whole lease duration takes the lease
 * @param renewedAt the holder's wall clock at the last write; informational only
 */
public record LeaseRecord(String region, String pool, String holder, long epoch, long version, Instant renewedAt) {

    /** Whether nobody holds it. */
    public boolean released() {
        return holder.isEmpty();
    }

    /** The item's key: {@code region#pool}. */
    public static String key(String region, String pool) {
        return region + "#" + pool;
    }
}
