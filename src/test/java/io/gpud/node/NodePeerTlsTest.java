package io.gpud.node;

import io.gpud.config.GpudConfig;
import io.gpud.config.ModelConfig;
import io.gpud.core.GpudException;
import io.gpud.enclave.crypto.ClusterCaFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The composition root wires peer TLS: nodes gossip their peer port and forward over it; none without it runs unasked. */
class NodePeerTlsTest {

    @TempDir
    Path dir;

    @Test
    void aRoutingNodeWithNeitherPeerTlsNorTheInsecureFlagRefusesToStart() {
        GpudConfig config = LoopbackNodes.config(dir, "lone", Map.of("gossip.insecure", "false"));
        var e = assertThrows(GpudException.class, () -> Node.start(config));
        assertTrue(e.getMessage().contains("routing.peerTls is not set") && e.getMessage().contains("--insecure-cluster"),
                e.getMessage());
    }

    private GpudConfig tlsNode(ClusterCaFixture ca, Path caFile, String name, Map<String, String> more)
            throws Exception {
        var files = ca.issue(dir, name);
        var settings = new HashMap<>(Map.of(
                "node.id", name,
                "gossip.profile", "loopback",
                "routing.peerTls.port", "0",
                "routing.peerTls.caFile", caFile.toString(),
                "routing.peerTls.certFile", files.cert().toString(),
                "routing.peerTls.keyFile", files.key().toString()));
        settings.putAll(more);
        return LoopbackNodes.config(dir, name, settings);
    }

    @Test
    void nodesOfOneClusterCaGossipTheirPeerPortAndForwardOverIt() throws Exception {
        var ca = new ClusterCaFixture("cluster");
        Path caFile = ClusterCaFixture.writeCaFile(dir.resolve("ca.pem"), ca);
        try (Node server = Node.start(tlsNode(ca, caFile, "server", Map.of("model.demo", "true")));
             Node front = Node.start(tlsNode(ca, caFile, "front",
                     Map.of("gossip.join", "127.0.0.1:" + server.gossipPort())))) {
            assertTrue(server.peerPort() > 0 && front.peerPort() > 0);
            var client = HttpClient.newHttpClient();
            var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + front.port() + "/v1/completions"))
                    .header("content-type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + ModelConfig.DEMO_NAME
                            + "\",\"prompt\":\"hi\",\"max_tokens\":2}")).build();
            // The front node serves no model: once gossip has shown it the server, it forwards.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            HttpResponse<String> r;
            do {
                r = client.send(request, HttpResponse.BodyHandlers.ofString());
            } while (r.statusCode() != 200 && System.nanoTime() < deadline && pause());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("server", r.headers().firstValue("x-gpud-node").orElse(null));
            assertTrue(forwardTimerThreads("front") > 0, "the front node forwarded under a deadline");
        }
        // A stopped pool's thread ends a moment after shutdown returns.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (forwardTimerThreads("front") > 0 && System.nanoTime() < deadline) {
            pause();
        }
        assertEquals(0, forwardTimerThreads("front"), "forward deadline timer threads alive 10 s after the node stopped");
    }

    /** Live threads of {@code node}'s forward deadline timer. */
    private static long forwardTimerThreads(String node) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().equals("forward-deadlines-" + node)).count();
    }

    private static boolean pause() throws InterruptedException {
        Thread.sleep(100);
        return true;
    }
}
