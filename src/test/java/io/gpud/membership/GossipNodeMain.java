package io.gpud.membership;

import io.gpud.config.GossipConfig;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * One gossip node in a process of its own, for tests that must not take their own JVM down
 * with it: {@code GossipNodeMain NODE_ID KEYRING_FILE} gossips on 127.0.0.1 (a free port,
 * printed as {@code GOSSIP_PORT <n>}) under that keyring, and stops when its standard input
 * closes, so it never outlives the test that started it.
 */
final class GossipNodeMain {

    private GossipNodeMain() {
    }

    public static void main(String[] args) throws IOException {
        var config = new GossipConfig(true, "127.0.0.1", 0, null, List.of(), Path.of(args[1]), false,
                GossipConfig.Profile.LOOPBACK, "", "", "", 4, false, 0, List.of(), 1);
        var meta = new NodeMetadata("local", "127.0.0.1", 8400, "", "", "", "READY", List.of(), 4, "test");
        try (var agent = MembershipAgent.start(args[0], config, meta, () -> new LoadRecord(args[0], 0, 0, 0, 0, 0f),
                new MetricRegistry())) {
            System.out.println("GOSSIP_PORT " + agent.port());
            System.out.flush();
            while (System.in.read() >= 0) {
                // runs until the parent closes our standard input or exits
            }
        }
    }
}
