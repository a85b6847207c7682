package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.config.ApiConfig;
import io.gpud.inference.Engine;
import io.gpud.metrics.MetricRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An {@link ApiServer} on loopback port 0 over a {@link FakeEngine} named "fake" (context 64). */
abstract class ApiServerTestBase {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int MAX_BODY = 4096;
    static final int MAX_DEPTH = 16;
    static final int DEFAULT_MAX_TOKENS = 8;

    final FakeEngine engine = new FakeEngine("fake", 64);
    final List<Engine> engines = new CopyOnWriteArrayList<>(List.of(engine));
    final FakeNodeControl node = new FakeNodeControl();
    final MetricRegistry registry = new MetricRegistry();
    final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    ApiServer server;

    @BeforeEach
    void startServer() {
        var config = new ApiConfig("127.0.0.1", 0, 0, maxBodyBytes(), MAX_DEPTH, Duration.ofSeconds(2));
        server = new ApiServer(ApiServer.Dependencies.local(config, node, () -> List.copyOf(engines), registry,
                DEFAULT_MAX_TOKENS)).start();
    }

    /** The server's {@code api.maxBodyBytes}: {@link #MAX_BODY} unless a test needs large bodies. */
    long maxBodyBytes() {
        return MAX_BODY;
    }

    @AfterEach
    void stopServer() {
        server.stop();
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return send(path, HttpRequest.BodyPublishers.ofString(body));
    }

    HttpResponse<String> send(String path, HttpRequest.BodyPublisher body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(uri(path))
                        .timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/json")
                        .POST(body)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }

    static void assertNodeHeader(HttpResponse<?> response) {
        assertEquals("node-test-1", response.headers().firstValue("x-gpud-node").orElse(null),
                "x-gpud-node header on " + response.uri());
    }

    /** Asserts an OpenAI error object with the status, and that the server still serves. */
    JsonNode assertOpenAiError(HttpResponse<String> response, int status) throws IOException, InterruptedException {
        assertEquals(status, response.statusCode(), response.body());
        assertNodeHeader(response);
        JsonNode error = json(response).get("error");
        assertNotNull(error, response.body());
        assertTrue(error.get("message").isTextual(), response.body());
        assertTrue(error.get("type").isTextual(), response.body());
        assertTrue(error.has("param") && error.has("code"), response.body());
        assertStillServes();
        return error;
    }

    void assertStillServes() throws IOException, InterruptedException {
        var ok = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":2}");
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals("ab", json(ok).at("/choices/0/text").asText());
    }

    /** The JSON payloads of an SSE body, in order, {@code [DONE]} included as a text node. */
    static List<JsonNode> sseEvents(String body) throws IOException {
        List<JsonNode> events = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.isBlank()) {
                continue;
            }
            assertTrue(block.startsWith("data: "), "SSE event: " + block);
            String data = block.substring("data: ".length());
            events.add(data.equals("[DONE]") ? JSON.getNodeFactory().textNode("[DONE]") : JSON.readTree(data));
        }
        return events;
    }

    static List<JsonNode> ndjson(String body) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (!line.isBlank()) {
                lines.add(JSON.readTree(line));
            }
        }
        return lines;
    }
}
