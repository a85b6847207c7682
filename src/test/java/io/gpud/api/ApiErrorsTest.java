package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.core.NodeState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiErrorsTest extends ApiServerTestBase {

    @Test
    void malformedJson() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/completions", "{\"model\":\"fake\",\"prompt\":"), 400);
        assertEquals("invalid_request_error", error.get("type").asText());
    }

    @Test
    void bodyThatIsNotAnObject() throws Exception {
        assertOpenAiError(post("/v1/completions", "[1,2,3]"), 400);
        assertOpenAiError(post("/v1/completions", "{} {}"), 400);
        assertOpenAiError(post("/v1/completions", ""), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"model\":\"fake\",\"prompt\":\"x\",\"temperature\":\"hot\"}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"max_tokens\":\"5\"}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"max_tokens\":2.5}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"stream\":\"yes\"}",
            "{\"model\":7,\"prompt\":\"x\"}",
            "{\"model\":\"fake\",\"prompt\":{\"text\":\"x\"}}",
            "{\"model\":\"fake\",\"prompt\":[1,\"x\"]}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"stop\":7}",
    })
    void wrongTypes(String body) throws Exception {
        assertOpenAiError(post("/v1/completions", body), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"model\":\"fake\",\"prompt\":\"x\",\"temperature\":-0.1}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"temperature\":2.5}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"top_p\":0}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"top_p\":1.5}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"max_tokens\":0}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"n\":9}",
            "{\"model\":\"fake\",\"prompt\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
            "{\"model\":\"fake\",\"prompt\":[]}",
            "{\"model\":\"fake\",\"prompt\":[\"a\",\"b\"]}",
            "{\"model\":\"fake\"}",
            "{\"prompt\":\"x\"}",
    })
    void invalidCompletionValues(String body) throws Exception {
        assertOpenAiError(post("/v1/completions", body), 400);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"model\":\"fake\",\"messages\":[]}",
            "{\"model\":\"fake\",\"messages\":\"hi\"}",
            "{\"model\":\"fake\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
            "{\"model\":\"fake\",\"messages\":[{\"content\":\"x\"}]}",
            "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
            "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
    })
    void invalidChatValues(String body) throws Exception {
        assertOpenAiError(post("/v1/chat/completions", body), 400);
    }

    @Test
    void tokenIdsOutsideTheVocabulary() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/completions", "{\"model\":\"fake\",\"prompt\":[1,258]}"), 400);
        assertEquals("prompt", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("258"));
        assertOpenAiError(post("/v1/completions", "{\"model\":\"fake\",\"prompt\":[-1]}"), 400);
    }

    @Test
    void promptLongerThanTheContext() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/completions",
                "{\"model\":\"fake\",\"prompt\":\"" + "x".repeat(63) + "\"}"), 400);
        assertEquals("context_length_exceeded", error.get("code").asText());
    }

    @Test
    void invalidUtf8() throws Exception {
        byte[] prefix = "{\"model\":\"fake\",\"prompt\":\"".getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[prefix.length + 4];
        System.arraycopy(prefix, 0, body, 0, prefix.length);
        body[prefix.length] = (byte) 0xC3;
        body[prefix.length + 1] = (byte) 0x28;
        body[prefix.length + 2] = '"';
        body[prefix.length + 3] = '}';
        JsonNode error = assertOpenAiError(send("/v1/completions", HttpRequest.BodyPublishers.ofByteArray(body)), 400);
        assertTrue(error.get("message").asText().contains("UTF-8"), error.toString());
    }

    @Test
    void depthBomb() throws Exception {
        String bomb = "{\"model\":\"fake\",\"prompt\":\"x\",\"x\":" + "[".repeat(1000) + "]".repeat(1000) + "}";
        JsonNode error = assertOpenAiError(post("/v1/completions", bomb), 400);
        assertTrue(error.get("message").asText().contains("nested"), error.toString());
    }

    @Test
    void bodyOverTheCapByContentLength() throws Exception {
        String big = "{\"model\":\"fake\",\"prompt\":\"" + "x".repeat(MAX_BODY) + "\"}";
        JsonNode error = assertOpenAiError(post("/v1/completions", big), 413);
        assertTrue(error.get("message").asText().contains(Integer.toString(MAX_BODY)), error.toString());
    }

    @Test
    void chunkedBodyOverTheCap() throws Exception {
        byte[] big = ("{\"model\":\"fake\",\"prompt\":\"" + "x".repeat(2 * MAX_BODY) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        var chunked = HttpRequest.BodyPublishers.ofInputStream(() -> (InputStream) new ByteArrayInputStream(big));
        assertOpenAiError(send("/v1/completions", chunked), 413);
    }

    @Test
    void chunkedBodyUnderTheCapIsServed() throws Exception {
        byte[] ok = "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":1}".getBytes(StandardCharsets.UTF_8);
        var response = send("/v1/completions",
                HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(ok)));
        assertEquals(200, response.statusCode(), response.body());
    }

    @Test
    void malformedHttpIsAnsweredWithTheErrorObjectAndNodeHeader() throws Exception {
        try (var socket = new Socket("127.0.0.1", server.port())) {
            socket.getOutputStream().write("GARBAGE\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 400 "), response);
            assertTrue(response.toLowerCase(java.util.Locale.ROOT).contains("x-gpud-node: node-test-1"), response);
            assertTrue(response.contains("{\"error\":{"), response);
        }
        assertStillServes();
    }

    @Test
    void unknownModel() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/chat/completions",
                "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), 404);
        assertEquals("model_not_found", error.get("code").asText());
    }

    @Test
    void unknownRouteAndWrongMethod() throws Exception {
        assertOpenAiError(get("/v1/nothing-here"), 404);
        var wrongMethod = get("/v1/completions");
        assertOpenAiError(wrongMethod, 405);
        assertEquals("POST", wrongMethod.headers().firstValue("allow").orElse(""));
        assertOpenAiError(post("/v1/models", "{}"), 405);
    }

    @Test
    void notReadyIsUnavailableWithRetryAfter() throws Exception {
        for (NodeState state : new NodeState[] {NodeState.DRAINING, NodeState.DRAINED, NodeState.STARTING,
                NodeState.QUARANTINED}) {
            node.state(state);
            var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"x\"}");
            assertEquals(503, response.statusCode(), state + ": " + response.body());
            assertNodeHeader(response);
            assertEquals("2", response.headers().firstValue("retry-after").orElse(""), state.name());
            assertTrue(json(response).at("/error/message").asText().contains(state.name()));
        }
        node.state(NodeState.READY);
        assertStillServes();
    }

    @Test
    void fullQueueIsTooManyRequestsWithRetryAfter() throws Exception {
        engine.rejecting = true;
        var response = post("/v1/chat/completions",
                "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals(429, response.statusCode(), response.body());
        assertNodeHeader(response);
        assertEquals("3", response.headers().firstValue("retry-after").orElse(""));
        assertEquals("rate_limit_error", json(response).at("/error/type").asText());
        engine.rejecting = false;
        assertStillServes();
    }

    @Test
    void aRequestTheEngineCanNeverHoldIsABadRequestNamingTheNumbers() throws Exception {
        engine.refusing = "the request needs 4194304 bytes of KV cache for 2048 positions (prompt and max tokens), "
                + "the engine has 1048576 (engine.kvCacheBytes)";
        var chat = post("/v1/chat/completions",
                "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        var ollama = post("/api/generate", "{\"model\":\"fake\",\"prompt\":\"x\",\"stream\":false}");
        engine.refusing = null;
        JsonNode error = assertOpenAiError(chat, 400);
        assertEquals("invalid_request_error", error.get("type").asText());
        assertTrue(error.get("message").asText().contains("4194304 bytes of KV cache for 2048 positions"), chat.body());
        assertTrue(error.get("message").asText().contains("the engine has 1048576"), chat.body());
        assertEquals(400, ollama.statusCode(), ollama.body());
        assertTrue(ollama.body().contains("2048 positions"), ollama.body());
        assertStillServes();
    }

    @Test
    void engineFailureBeforeTheResponseIsAServerError() throws Exception {
        engine.failAfter = 1;
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"x\"}");
        engine.failAfter = Integer.MAX_VALUE;
        JsonNode error = assertOpenAiError(response, 500);
        assertEquals("server_error", error.get("type").asText());
        assertTrue(!error.get("message").asText().contains("fake engine"), "internal details stay in the log");
    }

    @Test
    void engineFailureMidStreamEndsTheStreamWithAnError() throws Exception {
        engine.failAfter = 2;
        var sse = post("/v1/chat/completions", "{\"model\":\"fake\",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        var lines = post("/api/generate", "{\"model\":\"fake\",\"prompt\":\"x\"}");
        engine.failAfter = Integer.MAX_VALUE;
        assertEquals(200, sse.statusCode());
        var events = sseEvents(sse.body());
        assertEquals("server_error", events.getLast().at("/error/type").asText(), sse.body());
        assertTrue(events.stream().noneMatch(e -> e.asText().equals("[DONE]")), sse.body());
        assertEquals(200, lines.statusCode());
        assertTrue(ndjson(lines.body()).getLast().get("error").isTextual(), lines.body());
        assertStillServes();
    }

    @Test
    void clientDisconnectMidStreamCancelsTheGeneration() throws Exception {
        var longEngine = new FakeEngine("long", 100_000);
        longEngine.tokenDelay = java.time.Duration.ofMillis(5);
        engines.add(longEngine);
        byte[] body = "{\"model\":\"long\",\"prompt\":\"hi\",\"max_tokens\":90000,\"stream\":true}"
                .getBytes(StandardCharsets.UTF_8);
        try (var socket = new Socket("127.0.0.1", server.port())) {
            var out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            var in = socket.getInputStream();
            var seen = new StringBuilder();
            while (!seen.toString().contains("data: ")) {
                int b = in.read();
                assertTrue(b >= 0, "stream ended early: " + seen);
                seen.append((char) b);
            }
            socket.setSoLinger(true, 0);
        }
        assertTrue(longEngine.cancelled.await(20, TimeUnit.SECONDS), "the engine saw no cancel");
        assertStillServes();
    }

    /** The HTTP layer's own failure before routing, as Helidon hands it to the direct handler. */
    /**
     * The status the direct handler gives a failure Helidon reports as it does (no message),
     * raised while the request head was, or was not, still being read.
     */
    private static int directStatus(io.helidon.http.DirectHandler.EventType type, boolean readingHead) {
        var handler = Errors.directHandler("n1", MAX_BODY, new RefusalLog(io.gpud.core.Time.system(),
                java.time.Duration.ofSeconds(10)), () -> readingHead);
        return handler.handle(io.helidon.webserver.http.DirectTransportRequest.create("HTTP/1.1", "GET", "/x"), type,
                type.defaultStatus(), io.helidon.http.ServerResponseHeaders.create(), (String) null).status().code();
    }

    @Test
    void anInternalErrorAfterTheRequestHeadStaysA500WhileOneReadingItIsA400() {
        assertEquals(500, directStatus(io.helidon.http.DirectHandler.EventType.INTERNAL_ERROR, false));
        assertEquals(500, directStatus(io.helidon.http.DirectHandler.EventType.OTHER, true));
        assertEquals(400, directStatus(io.helidon.http.DirectHandler.EventType.INTERNAL_ERROR, true));
    }

    @Test
    void aFailedStartLeavesNoDeadlineWatchdogRunning() throws Exception {
        java.util.function.LongSupplier watchdogs = () -> Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("gpud-http-deadlines") && t.isAlive()).count();
        long before = watchdogs.getAsLong();
        var taken = new io.gpud.config.ApiConfig("127.0.0.1", server.port(), 0, MAX_BODY, MAX_DEPTH,
                java.time.Duration.ofSeconds(2));
        var second = new ApiServer(ApiServer.Dependencies.local(taken, node, () -> java.util.List.copyOf(engines),
                new io.gpud.metrics.MetricRegistry(), DEFAULT_MAX_TOKENS));
        assertTrue(watchdogs.getAsLong() > before, "the server's watchdog did not start");
        org.junit.jupiter.api.Assertions.assertThrows(io.gpud.core.GpudException.class, second::start);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (watchdogs.getAsLong() > before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(before, watchdogs.getAsLong(), "a deadline watchdog outlived the failed start");
    }
}
