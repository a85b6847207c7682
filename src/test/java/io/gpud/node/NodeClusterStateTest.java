package io.gpud.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.GpudConfig;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.scaling.FakeAutoScaling;
import io.gpud.state.EmbeddedStateStore;
import io.gpud.state.LeaseRecord;
import io.gpud.state.NodeRecord;
import io.gpud.state.StateStore;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The composition root wires the registry, the leases and the autoscaler, and releases the leases on close. */
class NodeClusterStateTest {

    @Test
    void nodeReportsItselfLeadsThePoolsAndReleasesThemOnClose(@TempDir Path dir) throws Exception {
        var store = new EmbeddedStateStore();
        GpudConfig config = LoopbackNodes.config(dir, "node", Map.of(
                "model.demo", "true",
                "node.id", "node-1",
                "scaling.enabled", "true",
                "scaling.pool", "model-b",
                "state.reportEvery", "100ms"));
        try (var asg = new FakeAutoScaling()) {
            Cloud cloud = new Cloud() {
                @Override
                public StateStore stateStore(GpudConfig c) {
                    return store;
                }

                @Override
                public AwsAutoScaling autoScaling(GpudConfig c) {
                    return new AwsAutoScaling(asg.client());
                }
            };
            try (Node node = Node.start(config, cloud)) {
                NodeRecord self = await(() -> store.nodes("us-east-1", Instant.now()).stream().findFirst());
                assertEquals("node-1", self.nodeId());
                assertEquals("model-b", self.pool());
                assertEquals("READY", self.state());
                assertEquals("127.0.0.1:" + node.port(), self.address());
                for (String pool : List.of("model-a", "model-b", "model-c")) {
                    LeaseRecord lease = await(() -> store.lease("us-east-1", pool).filter(l -> !l.released()));
                    assertEquals("node-1", lease.holder());
                }
                await(() -> store.regions(Instant.now()).stream().findFirst());
            }
            for (String pool : List.of("model-a", "model-b", "model-c")) {
                assertTrue(store.lease("us-east-1", pool).orElseThrow().released(), pool + " released on close");
            }
            assertEquals(List.of(), asg.requests(), "no decision within a window");
        }
    }

    private static <T> T await(Supplier<Optional<T>> probe) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<T> v = probe.get();
            if (v.isPresent()) {
                return v.get();
            }
            Thread.sleep(10);
        }
        throw new AssertionError("condition not met in 30 s");
    }
}
