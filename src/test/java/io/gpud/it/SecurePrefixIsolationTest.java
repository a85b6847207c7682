package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.enclave.TenantTool;
import io.gpud.node.LoopbackNodes;
import io.gpud.node.Node;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secure-envelope requests stay out of the prefix cache, through a node in this JVM in local
 * secure mode: the same long conversation sent sealed twice looks nothing up and leaves no
 * block behind (the cache's counters and gauges do not move), while sent plain twice it is
 * reused the second time.
 */
class SecurePrefixIsolationTest {
    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/prefix";
    static final byte[] REQUEST = ("{\"model\":\"gpud-demo\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "Tell me about the weather in the mountains in spring, in detail. ".repeat(3)
            + "\"}],\"max_tokens\":2,\"temperature\":0}").getBytes(StandardCharsets.UTF_8);

    final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    @Test
    void aSealedConversationIsNeitherReusedNorLeftInTheCache() throws Exception {
        var config = LoopbackNodes.config(dir, "secure", Map.of(
                "model.demo", "true",
                "secure.mode", "local",
                "secure.auditFile", dir.resolve("audit.log").toString(),
                "gossip.enabled", "false"));
        try (Node node = Node.start(config);
             var session = TenantTool.openSession(node.secureKmsEndpoint().orElseThrow(), "us-east-1", true, KEY,
                     "acme", "prefix")) {
            for (int i = 0; i < 2; i++) {
                var sealed = post(node, "/v1/secure/chat/completions", session.seal("r" + i, REQUEST).envelopeJson());
                assertEquals(200, sealed.statusCode(), sealed.body());
            }
            String metrics = scrape(node);
            assertEquals(0.0, sample(metrics, "gpud_prefix_cache_lookup_tokens_total"), "a sealed request looked up");
            assertEquals(0.0, sample(metrics, "gpud_prefix_cache_blocks_cached"), "a sealed request left blocks");
            assertEquals(0.0, sample(metrics, "gpud_prefix_cache_blocks_in_use"), metrics);

            for (int i = 0; i < 2; i++) {
                assertEquals(200, post(node, "/v1/chat/completions", REQUEST).statusCode());
            }
            metrics = scrape(node);
            assertTrue(sample(metrics, "gpud_prefix_cache_hit_tokens_total") > 0, "the plain repeat reused nothing");
            assertTrue(sample(metrics, "gpud_prefix_cache_blocks_cached") > 0, "the plain requests left no blocks");
        }
    }

    HttpResponse<String> post(Node node, String path, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + path))
                        .header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    String scrape(Node node) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.metricsPort() + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    static double sample(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{model=\"gpud-demo\"} (\\S+)$").matcher(metrics);
        assertTrue(m.find(), name + " has no series for gpud-demo in:\n" + metrics);
        return Double.parseDouble(m.group(1));
    }
}
