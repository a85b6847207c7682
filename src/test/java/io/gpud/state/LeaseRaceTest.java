package io.gpud.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.LongSummaryStatistics;
import org.junit.jupiter.api.Test;

/**
 * Seeded lease races (see {@link LeaseRaceSimulation}): 10,000 against the embedded store,
 * whose conditional writes follow DynamoDB's, and a few against DynamoDB Local
 * through the real SDK. A failing seed is printed and replays alone.
 */
class LeaseRaceTest {

    private static final long FAILOVER_BOUND_NANOS = 25_000_000_000L;

    @Test
    void tenThousandRacesOnTheEmbeddedStore() {
        report("embedded", run(10_000, seed -> new EmbeddedStateStore(), "pool"));
    }

    @Test
    void racesOnDynamoDbLocal() {
        var store = DynamoDbLocal.store("races");
        try {
            report("dynamodb-local", run(4, seed -> store, null));
        } finally {
            store.close();
        }
    }

    private interface StoreFor {
        StateStore store(long seed);
    }

    private static List<LeaseRaceSimulation.Result> run(int races, StoreFor stores, String fixedPool) {
        var results = new ArrayList<LeaseRaceSimulation.Result>();
        for (long seed = 1; seed <= races; seed++) {
            String pool = fixedPool != null ? fixedPool : "race-" + seed;
            results.add(new LeaseRaceSimulation(stores.store(seed), pool, seed).run());
        }
        return results;
    }

    private static void report(String store, List<LeaseRaceSimulation.Result> results) {
        LongSummaryStatistics failover = new LongSummaryStatistics();
        long accepted = 0;
        long fenced = 0;
        long twoLeadersOneEpoch = 0;
        var failures = new ArrayList<String>();
        for (var r : results) {
            accepted += r.actionsAccepted();
            fenced += r.actionsFenced();
            if (r.failoverNanos() >= 0) {
                failover.accept(r.failoverNanos());
                if (r.failoverNanos() > FAILOVER_BOUND_NANOS) {
                    failures.add("seed " + r.seed() + ": failover took " + r.failoverNanos() / 1e9 + " s");
                }
            }
            r.violations().forEach(v -> failures.add("seed " + r.seed() + ": " + v));
            twoLeadersOneEpoch += r.violations().stream().filter(v -> v.contains("acted on by")).count();
        }
        System.out.printf("lease races on %s: %d races, %d actions accepted, %d fenced, %d by two leaders of "
                        + "one epoch; failover after a crash: %d measured, mean %.2f s, max %.2f s%n",
                store, results.size(), accepted, fenced, twoLeadersOneEpoch, failover.getCount(), failover.getAverage() / 1e9,
                failover.getMax() / 1e9);
        assertEquals(List.of(), failures.stream().limit(20).toList(), failures.size() + " failures");
        assertEquals(results.size(), failover.getCount(), "every race had a crash and a failover");
        assertTrue(fenced > 0, "the stalls must have produced stale actions for the fence to refuse");
    }
}
