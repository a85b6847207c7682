package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.MembershipConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The SPEC section 4 scenarios, small enough for the suite; {@code bench/membership-sim}
 * runs them at full size. Each seed is a parameter; a failure names its seed, and the
 * same seed replays the same run event for event.
 */
class MembershipSimulationTest {

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1})
    void crashIsSeenDeadByEveryPeer(long seed) {
        var stats = MembershipScenarios.crashDetection(seed, 60, 3, MembershipConfig.lan());
        assertEquals(59 + 58 + 57, stats.count(), "seed " + seed);
        assertTrue(stats.p50Ms() <= 6_000 && stats.p99Ms() <= 10_000, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {3})
    void regionLossIsSeenAcrossTheWanPool(long seed) {
        var stats = MembershipScenarios.regionLoss(seed, 3, 3, 3);
        assertTrue(stats.p99Ms() <= 20_000, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {4})
    void tenPercentLossKillsNoHealthyNode(long seed) {
        var run = MembershipScenarios.underFaults(seed, 50, 0.10, 0, 240, MembershipConfig.lan(),
                MembershipScenarios.testKeyring());
        assertEquals(0, run.falseDeaths(), "seed " + seed + ": " + run);
        assertTrue(run.suspicions() > 0, "the loss must have caused suspicions to refute: " + run);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {6})
    void starvedNodesGetNoHealthyNodeDeclaredDead(long seed) {
        var run = MembershipScenarios.underFaults(seed, 60, 0.01, 0.05, 150, MembershipConfig.lan(),
                Keyring.plaintext());
        assertEquals(0, run.falseDeaths(), "seed " + seed + ": " + run);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {7})
    void metadataConvergesInTheRegion(long seed) {
        var stats = MembershipScenarios.metadataConvergence(seed, 60, 5, MembershipConfig.lan(), false);
        assertTrue(stats.p99Ms() <= 2_500, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {8})
    void loadRecordsStayFresh(long seed) {
        var stats = MembershipScenarios.loadStaleness(seed, 40, 0.01, 10);
        assertTrue(stats.p99Ms() <= 500, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {9})
    void aHealedPartitionMergesAgain(long seed) {
        long healNanos = MembershipScenarios.partitionHeal(seed, 20, 30);
        assertTrue(healNanos <= SimClock.s(90), "seed " + seed + ": merged after " + healNanos / 1_000_000 + " ms");
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {10})
    void aCrashedNodeRejoinsWithAHigherIncarnation(long seed) {
        long rejoinNanos = MembershipScenarios.crashAndRejoin(seed, 20);
        assertTrue(rejoinNanos <= SimClock.s(10), "seed " + seed + ": rejoined after " + rejoinNanos / 1_000_000
                + " ms");
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {11})
    void aClusterKeyRotationReachesEveryMemberWithNoSuspicion(long seed) {
        var r = MembershipScenarios.clusterKeyRotation(seed, 40, 0.0, 5);
        assertEquals(r.members(), r.membersWithOnlyTheNewKey(), "seed " + seed + ": " + r);
        assertEquals(0, r.suspicions(), "seed " + seed + ": " + r);
        assertEquals(0, r.undecryptable(), "seed " + seed + ": " + r);
    }
}
