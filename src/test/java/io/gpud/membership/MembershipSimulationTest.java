package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.MembershipConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The SPEC section 4 scenarios as properties over simulation seeds ({@link io.gpud.Seeds}:
 * the same 20 in every run, each a test named by its seed, replayed alone with
 * {@code -Dgpud.sim.seed=N}), small enough for the suite; {@code bench/membership-sim} runs
 * them at full size. Every message here and every invariant violation says {@code seed N}.
 */
class MembershipSimulationTest {

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void crashIsSeenDeadByEveryPeer(long seed) {
        var stats = MembershipScenarios.crashDetection(seed, 40, 2, MembershipConfig.lan());
        assertEquals(39 + 38, stats.count(), "seed " + seed);
        assertTrue(stats.p50Ms() <= 6_000 && stats.p99Ms() <= 10_000, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void prefixCacheNewsReachRegionPeersAsOftenAsTheirDatagramUnder10PercentLoss(long seed) {
        var run = MembershipScenarios.loadChannelTraffic(seed, 30, 30, 0.10, MembershipScenarios.testKeyring(), true,
                3, 1.5);
        // each name is sent in one record: a peer misses it with that datagram (1e-1), so about 0.90 arrive
        assertTrue(run.namesKnownShare() >= 0.87, "seed " + seed + ": " + run);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void regionLossIsSeenAcrossTheWanPool(long seed) {
        var stats = MembershipScenarios.regionLoss(seed, 3, 3, 1);
        assertTrue(stats.p99Ms() <= 20_000, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void tenPercentLossKillsNoHealthyNode(long seed) {
        var run = MembershipScenarios.underFaults(seed, 30, 0.10, 0, 60, MembershipConfig.lan(),
                MembershipScenarios.testKeyring());
        assertEquals(0, run.falseDeaths(), "seed " + seed + ": " + run);
        assertTrue(run.suspicions() > 0, "seed " + seed + ": the loss must have caused suspicions to refute: " + run);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void starvedNodesGetNoHealthyNodeDeclaredDead(long seed) {
        var run = MembershipScenarios.underFaults(seed, 40, 0.01, 0.05, 60, MembershipConfig.lan(),
                Keyring.plaintext());
        assertEquals(0, run.falseDeaths(), "seed " + seed + ": " + run);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void metadataConvergesInTheRegion(long seed) {
        var stats = MembershipScenarios.metadataConvergence(seed, 40, 3, MembershipConfig.lan(), false);
        assertTrue(stats.p99Ms() <= 2_500, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void loadRecordsStayFresh(long seed) {
        var stats = MembershipScenarios.loadStaleness(seed, 20, 0.01, 5);
        assertTrue(stats.p99Ms() <= 500, "seed " + seed + ": " + stats);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void aHealedPartitionMergesAgain(long seed) {
        long healNanos = MembershipScenarios.partitionHeal(seed, 20, 30);
        assertTrue(healNanos <= SimClock.s(90), "seed " + seed + ": merged after " + healNanos / 1_000_000 + " ms");
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void aCrashedNodeRejoinsWithAHigherIncarnation(long seed) {
        long rejoinNanos = MembershipScenarios.crashAndRejoin(seed, 20);
        assertTrue(rejoinNanos <= SimClock.s(10), "seed " + seed + ": rejoined after " + rejoinNanos / 1_000_000
                + " ms");
    }

    /** Its old incarnation comes back through push-pull, beyond any jump a gossiped alive may make. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void aCrashedNodeRejoinsFromAnIncarnationBeyondOneGossipedJump(long seed) {
        long rejoinNanos = MembershipScenarios.crashAndRejoin(seed, 20, 3 * SwimProtocol.MAX_INCARNATION_JUMP);
        assertTrue(rejoinNanos <= SimClock.s(10), "seed " + seed + ": rejoined after " + rejoinNanos / 1_000_000
                + " ms");
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void aClusterKeyRotationReachesEveryMemberWithNoSuspicion(long seed) {
        var r = MembershipScenarios.clusterKeyRotation(seed, 20, 0.0, 5);
        assertEquals(r.members(), r.membersWithOnlyTheNewKey(), "seed " + seed + ": " + r);
        assertEquals(0, r.suspicions(), "seed " + seed + ": " + r);
        assertEquals(0, r.undecryptable(), "seed " + seed + ": " + r);
    }

    /** Bridge election, summaries and their relay, run whole: a change reaches every other region. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void aRegionSummaryChangeReachesEveryNodeOfTheOtherRegions(long seed) {
        var stats = MembershipScenarios.summaryConvergence(seed, 3, 16, 2, 2);
        assertEquals(2 * 32, stats.count(), "seed " + seed);
        assertTrue(stats.p99Ms() <= 5_000, "seed " + seed + ": " + stats);
    }

    /** A dead bridge's successor is elected once the death is seen, and relays within a few ticks. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void aDeadBridgesSuccessorIsElectedAndRelays(long seed) {
        var failover = MembershipScenarios.bridgeFailover(seed, 3, 8, 2, 2);
        assertTrue(failover.elected().maxMs() <= 10_000, "seed " + seed + ": " + failover);
        assertTrue(failover.relaying().maxMs() <= failover.elected().maxMs() + 5_000, "seed " + seed + ": "
                + failover);
    }
}
