package io.gpud.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.cli.Main;
import io.gpud.config.GpudConfig;
import io.gpud.core.NodeState;
import io.gpud.inference.DirtyMemory;
import io.gpud.routing.PeerForwarder;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.state.EmbeddedStateStore;
import io.gpud.state.StateStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * An engine that finds device memory not clean quarantines its node: the node is
 * QUARANTINED, {@code gpud status} says so, and a peer stops routing to it.
 */
class NodeQuarantineTest {
    private static final String MODEL = "gpud-demo";
    private static final String CHAT = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":"
            + "\"Hi\"}],\"max_tokens\":3}";

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void dirtyDeviceMemoryQuarantinesTheNodeAndPeersStopRoutingToIt(@TempDir Path dir) throws Exception {
        try (Node healthy = Node.start(config(dir, "healthy", null), cloud(), ModelLoader.BACKENDS);
             Node dirty = Node.start(config(dir, "dirty", "127.0.0.1:" + healthy.gossipPort()), cloud(),
                     (model, tokenizer, name, engine, quarantine) -> DirtyMemory.engine(model, name, engine,
                             quarantine, "3 non-zero 16-byte words after zeroing slot 0"))) {
            Path healthySocket = dir.resolve("healthy.sock");
            await("the healthy node would route to the dirty one while it is READY",
                    () -> filterReason(healthySocket, "dirty").equals("none"));

            var served = post(dirty, Map.of(PeerForwarder.HOP_HEADER, "test"));
            assertEquals(200, served.statusCode(), served.body());
            assertEquals("dirty", served.headers().firstValue("x-gpud-node").orElseThrow());
            await("the dirty node is quarantined", () -> dirty.state() == NodeState.QUARANTINED);

            var refused = post(dirty, Map.of(PeerForwarder.HOP_HEADER, "test"));
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("QUARANTINED"), refused.body());
            String status = status(dir.resolve("dirty.sock"));
            assertTrue(status.contains("QUARANTINED"), status);

            await("the healthy node filters the quarantined one",
                    () -> filterReason(healthySocket, "dirty").equals("state QUARANTINED"));
            for (int i = 0; i < 5; i++) {
                var response = post(healthy, Map.of());
                assertEquals(200, response.statusCode(), response.body());
                assertEquals("healthy", response.headers().firstValue("x-gpud-node").orElseThrow());
            }
        }
    }

    private static GpudConfig config(Path dir, String id, String join) {
        var settings = new HashMap<>(Map.of(
                "model.demo", "true",
                "gossip.profile", "loopback",
                "engine.backend", "cpu",
                "node.id", id));
        if (join != null) {
            settings.put("gossip.join", join);
        }
        return LoopbackNodes.config(dir, id, settings);
    }

    private static Cloud cloud() {
        var store = new EmbeddedStateStore();
        return new Cloud() {
            @Override
            public StateStore stateStore(GpudConfig config) {
                return store;
            }

            @Override
            public AwsAutoScaling autoScaling(GpudConfig config) {
                throw new AssertionError("scaling is off");
            }
        };
    }

    private HttpResponse<String> post(Node node, Map<String, String> headers) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/v1/chat/completions"))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CHAT));
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Why {@code node} is filtered in the routing decision the node at {@code adminSocket}
     * would make now ({@code gpud route --explain --json}): "none" when it is a candidate,
     * "absent" when it is not listed.
     */
    private static String filterReason(Path adminSocket, String node) {
        String json = cli("route", "--explain", "--model", MODEL, "--json", "--admin-socket",
                adminSocket.toString());
        try {
            for (JsonNode line : new ObjectMapper().readTree(json).path("candidates")) {
                if (line.path("node").asText().equals(node)) {
                    return line.path("filtered").isNull() ? "none" : line.path("filtered").asText();
                }
            }
            return "absent";
        } catch (IOException e) {
            throw new AssertionError(json, e);
        }
    }

    private static String status(Path adminSocket) {
        return cli("status", "--admin-socket", adminSocket.toString());
    }

    /** Runs a {@code gpud} client command in this process; its output. */
    private static String cli(String... args) {
        var out = new StringWriter();
        var cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(out));
        int exit = cli.execute(args);
        assertEquals(0, exit, out.toString());
        return out.toString();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(50);
        }
    }
}
