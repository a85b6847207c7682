package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.GossipConfig;
import io.gpud.metrics.MetricRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two regions of two nodes each on loopback, one bridge per region: each node, bridge or
 * not, ends up with the other region's summary (healthy hosts, capacity, the READY hosts
 * of its model, least loaded first); when the west bridge dies, the next west node is
 * elected and the summaries keep coming, now made by it.
 */
class WanPoolLoopbackTest {

    private final List<MembershipAgent> agents = new ArrayList<>();

    @AfterEach
    void close() {
        agents.forEach(MembershipAgent::close);
    }

    private MembershipAgent start(String id, String region, List<String> join, List<String> wanJoin, int queue) {
        var config = new GossipConfig(true, "127.0.0.1", 0, null, join, null, true, GossipConfig.Profile.LOOPBACK,
                "", "", "", 4, true, 0, wanJoin, 1);
        var meta = new NodeMetadata(region, "127.0.0.1", 9000 + agents.size(), "az1", "", "", "READY",
                List.of(new NodeMetadata.Model("tiny", "1")), 4, "test");
        var agent = MembershipAgent.start(id, config, meta, () -> new LoadRecord(id, 0, 0, queue, 1, 0f),
                new MetricRegistry());
        agents.add(agent);
        return agent;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 40 s: " + what);
            }
            Thread.sleep(100);
        }
    }

    @Test
    void summariesCrossTheWanPoolAndSurviveTheLossOfABridge() throws InterruptedException {
        MembershipAgent e0 = start("east-0", "east", List.of(), List.of(), 0);
        MembershipAgent e1 = start("east-1", "east", List.of("127.0.0.1:" + e0.port()), List.of(), 0);
        String eastWan = "127.0.0.1:" + e0.wanPort();
        MembershipAgent w0 = start("west-0", "west", List.of(), List.of(eastWan), 3);
        MembershipAgent w1 = start("west-1", "west", List.of("127.0.0.1:" + w0.port()), List.of(eastWan), 0);

        await("east-1, not a bridge, holds west's summary with both hosts", () -> {
            RegionSummary west = e1.regionSummaries().get("west");
            return west != null && west.healthyHosts() == 2 && west.models().size() == 1
                    && west.models().getFirst().hosts().size() == 2;
        });
        RegionSummary west = e1.regionSummaries().get("west");
        assertEquals(8, west.capacity());
        assertEquals("west-0", west.bridge());
        assertEquals("tiny", west.models().getFirst().model());
        // west-0 queues 3, west-1 none: west-1 is the less loaded and comes first.
        assertEquals(List.of("west-1", "west-0"),
                west.models().getFirst().hosts().stream().map(RegionSummary.Host::nodeId).toList());
        assertEquals(3, west.models().getFirst().hosts().get(1).queueDepth());
        assertTrue(e1.regionSummaries().containsKey("east"), "a node's own region is summarized too");
        await("west-1 holds east's summary", () -> {
            RegionSummary east = w1.regionSummaries().get("east");
            return east != null && east.healthyHosts() == 2;
        });
        assertTrue(e0.bridge());
        assertFalse(e1.bridge());
        assertTrue(w0.bridge());
        assertFalse(w1.bridge());

        agents.remove(w0);
        w0.close();
        await("west-1 elected in west-0's place, and east hears west from it", () -> {
            RegionSummary w = e1.regionSummaries().get("west");
            return w != null && w.bridge().equals("west-1") && w.healthyHosts() == 1;
        });
        assertTrue(w1.bridge());
    }
}
