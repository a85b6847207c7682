package io.gpud.config;

import java.net.URI;
import java.time.Duration;

/**
 * Where the cluster's cross-region state lives, and the lease timings.
 *
 * <p>A leader renews its lease every {@code leaseRenewEvery}; a contender takes the lease
 * over once it has seen the same lease version unchanged for {@code leaseDuration} on its
 * own monotonic clock, so wall-clock skew between hosts plays no part. Leader failover
 * takes at most {@code leaseDuration + leaseRenewEvery / 2} after the last renewal (20 s +
 * 2.5 s by default). A shorter lease fails over faster and costs a write per renewal; it
 * must outlast a renewal that is slow or lost, so at least two renewals fit in it.
 *
 * @param backend         {@code embedded} (in-process, single node) or {@code dynamodb}
 * @param tablePrefix     table names are {@code <prefix>-nodes}, {@code -leases},
 *                        {@code -decisions}, {@code -regions}
 * @param endpoint        DynamoDB endpoint override (DynamoDB Local), or null for the
 *                        region's own endpoint: each contender writes through its own
 *                        region, where conditional writes mean something
 * @param leaseDuration   how long an unrenewed lease stays with its holder
 * @param leaseRenewEvery how often a leader renews (and half of it, how often others look)
 * @param nodeTtl         how long a node registry item stays valid without a new report;
 *                        readers check it too, since DynamoDB deletes expired items late
 * @param reportEvery     how often a node writes its registry item
 */
public record StateConfig(Backend backend, String tablePrefix, URI endpoint, Duration leaseDuration,
        Duration leaseRenewEvery, Duration nodeTtl, Duration reportEvery) {

    /** {@code state.backend}. */
    public enum Backend { EMBEDDED, DYNAMODB }

    public StateConfig {
        Validate.notNull("state.backend", backend);
        Validate.notBlank("state.tablePrefix", tablePrefix);
        if (!tablePrefix.matches("[A-Za-z0-9._-]{1,200}")) {
            throw ConfigException.invalid("state.tablePrefix", "was '" + tablePrefix
                    + "', must be letters, digits, '.', '_' or '-'");
        }
        Validate.positive("state.leaseDuration", leaseDuration);
        Validate.positive("state.leaseRenewEvery", leaseRenewEvery);
        if (leaseRenewEvery.multipliedBy(2).compareTo(leaseDuration) > 0) {
            throw new ConfigException("state.leaseRenewEvery was " + leaseRenewEvery
                    + ", must be at most half of state.leaseDuration (" + leaseDuration + ")");
        }
        Validate.positive("state.nodeTtl", nodeTtl);
        Validate.positive("state.reportEvery", reportEvery);
        if (reportEvery.compareTo(nodeTtl) >= 0) {
            throw new ConfigException("state.reportEvery was " + reportEvery + ", must be shorter than state.nodeTtl ("
                    + nodeTtl + ")");
        }
    }

    /** Embedded store, 20 s leases renewed every 5 s, node items valid 30 s, reported every 5 s. */
    public static StateConfig defaults() {
        return new StateConfig(Backend.EMBEDDED, "gpud", null, Duration.ofSeconds(20), Duration.ofSeconds(5),
                Duration.ofSeconds(30), Duration.ofSeconds(5));
    }
}
