package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.config.ApiConfig;
import io.gpud.core.GpudException;
import io.gpud.metrics.MetricRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpenAiApiTest extends ApiServerTestBase {

    @Test
    void listsModels() throws Exception {
        var response = get("/v1/models");
        assertEquals(200, response.statusCode());
        assertNodeHeader(response);
        JsonNode body = json(response);
        assertEquals("list", body.get("object").asText());
        assertEquals("fake", body.at("/data/0/id").asText());
        assertEquals("model", body.at("/data/0/object").asText());
        assertEquals(1_700_000_000L, body.at("/data/0/created").asLong());
    }

    @Test
    void completesTextPrompt() throws Exception {
        var response = post("/v1/completions", """
                {"model":"fake","prompt":"hi","max_tokens":5,"temperature":0,"user":"u1"}""");
        assertEquals(200, response.statusCode(), response.body());
        assertNodeHeader(response);
        JsonNode body = json(response);
        assertTrue(body.get("id").asText().startsWith("cmpl-"));
        assertEquals("text_completion", body.get("object").asText());
        assertEquals("fake", body.get("model").asText());
        assertTrue(body.get("created").asLong() > 0);
        assertEquals("abcde", body.at("/choices/0/text").asText());
        assertEquals(0, body.at("/choices/0/index").asInt());
        assertEquals("length", body.at("/choices/0/finish_reason").asText());
        assertTrue(body.at("/choices/0/logprobs").isNull());
        assertEquals(3, body.at("/usage/prompt_tokens").asInt(), "BOS + 2 bytes");
        assertEquals(5, body.at("/usage/completion_tokens").asInt());
        assertEquals(8, body.at("/usage/total_tokens").asInt());
        assertEquals(FakeEngine.BOS, engine.submitted.getLast().promptTokens()[0]);
    }

    @Test
    void acceptsPromptAsOneStringArrayOrTokenIds() throws Exception {
        var strings = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":[\"hi\"],\"max_tokens\":1}");
        assertEquals(200, strings.statusCode(), strings.body());
        assertEquals(3, json(strings).at("/usage/prompt_tokens").asInt());

        var ids = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":[104,105],\"max_tokens\":1}");
        assertEquals(200, ids.statusCode(), ids.body());
        assertEquals(2, json(ids).at("/usage/prompt_tokens").asInt(), "token ids are used as given");
        assertEquals("hi", engine.lastPrompt());
    }

    @Test
    void stopFinishReasonAndDefaultMaxTokens() throws Exception {
        engine.stopAfter = 3;
        var stopped = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"x\",\"stop\":[\"\\n\"]}");
        assertEquals("stop", json(stopped).at("/choices/0/finish_reason").asText());
        assertEquals(List.of("\n"), engine.submitted.getLast().stop());
        assertEquals(DEFAULT_MAX_TOKENS, engine.submitted.getLast().maxTokens());
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokens() throws Exception {
        post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"x\",\"max_tokens\":7,\"max_completion_tokens\":3}");
        assertEquals(3, engine.submitted.getLast().maxTokens());
    }

    @Test
    void clampsMaxTokensToTheContext() throws Exception {
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"0123456789\",\"max_tokens\":1000}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = json(response);
        assertEquals(64 - 11, body.at("/usage/completion_tokens").asInt());
        assertEquals("length", body.at("/choices/0/finish_reason").asText());
    }

    @Test
    void streamsCompletionAsServerSentEvents() throws Exception {
        var response = post("/v1/completions", """
                {"model":"fake","prompt":"hi","max_tokens":4,"stream":true,"stream_options":{"include_usage":true}}""");
        assertEquals(200, response.statusCode(), response.body());
        assertNodeHeader(response);
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> events = sseEvents(response.body());
        assertEquals("[DONE]", events.getLast().asText());
        JsonNode usage = events.get(events.size() - 2);
        assertEquals(0, usage.get("choices").size());
        assertEquals(7, usage.at("/usage/total_tokens").asInt());
        JsonNode last = events.get(events.size() - 3);
        assertEquals("length", last.at("/choices/0/finish_reason").asText());
        var text = new StringBuilder();
        for (JsonNode e : events.subList(0, events.size() - 3)) {
            assertEquals("text_completion", e.get("object").asText());
            assertTrue(e.at("/choices/0/finish_reason").isNull());
            text.append(e.at("/choices/0/text").asText());
        }
        assertEquals("abcd", text.toString());
    }

    @Test
    void streamWithoutUsageEndsWithFinishThenDone() throws Exception {
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":2,\"stream\":true}");
        List<JsonNode> events = sseEvents(response.body());
        assertEquals("[DONE]", events.getLast().asText());
        assertEquals("length", events.get(events.size() - 2).at("/choices/0/finish_reason").asText());
        assertTrue(events.stream().noneMatch(e -> e.has("usage")));
    }

    @Test
    void completesChat() throws Exception {
        var response = post("/v1/chat/completions", """
                {"model":"fake","max_tokens":3,"messages":[
                  {"role":"system","content":"be brief"},
                  {"role":"user","content":[{"type":"text","text":"hel"},{"type":"text","text":"lo"}]}]}""");
        assertEquals(200, response.statusCode(), response.body());
        assertNodeHeader(response);
        JsonNode body = json(response);
        assertTrue(body.get("id").asText().startsWith("chatcmpl-"));
        assertEquals("chat.completion", body.get("object").asText());
        assertEquals("assistant", body.at("/choices/0/message/role").asText());
        assertEquals("abc", body.at("/choices/0/message/content").asText());
        assertEquals("length", body.at("/choices/0/finish_reason").asText());
        assertEquals("system: be brief\nuser: hello\nassistant: ", engine.lastPrompt());
        assertEquals(FakeEngine.BOS, engine.submitted.getLast().promptTokens()[0]);
        assertEquals(engine.submitted.getLast().promptTokens().length, body.at("/usage/prompt_tokens").asInt());
    }

    @Test
    void streamsChat() throws Exception {
        var response = post("/v1/chat/completions", """
                {"model":"fake","max_tokens":3,"stream":true,"stream_options":{"include_usage":true},
                 "messages":[{"role":"user","content":"hi"}]}""");
        assertEquals(200, response.statusCode(), response.body());
        List<JsonNode> events = sseEvents(response.body());
        assertEquals("assistant", events.getFirst().at("/choices/0/delta/role").asText());
        assertEquals("chat.completion.chunk", events.getFirst().get("object").asText());
        assertEquals("[DONE]", events.getLast().asText());
        JsonNode usage = events.get(events.size() - 2);
        assertEquals(0, usage.get("choices").size());
        assertEquals(3, usage.at("/usage/completion_tokens").asInt());
        JsonNode finish = events.get(events.size() - 3);
        assertEquals("length", finish.at("/choices/0/finish_reason").asText());
        assertTrue(finish.at("/choices/0/delta").isEmpty());
        var text = new StringBuilder();
        for (JsonNode e : events.subList(1, events.size() - 3)) {
            text.append(e.at("/choices/0/delta/content").asText());
        }
        assertEquals("abc", text.toString());
    }

    @Test
    void healthAndReadiness() throws Exception {
        var live = get("/health/live");
        assertEquals(200, live.statusCode());
        assertNodeHeader(live);
        assertEquals(200, get("/health/ready").statusCode());

        node.state(io.gpud.core.NodeState.DRAINING);
        var draining = get("/health/ready");
        assertEquals(503, draining.statusCode());
        assertNodeHeader(draining);
        assertTrue(json(draining).get("reason").asText().contains("DRAINING"), draining.body());
        assertEquals(200, get("/health/live").statusCode());

        node.state(io.gpud.core.NodeState.READY);
        engines.clear();
        var empty = get("/health/ready");
        assertEquals(503, empty.statusCode());
        assertTrue(json(empty).get("reason").asText().contains("no model"), empty.body());
    }

    /** A second server on this one's data or metrics port must fail to start, not come up without it. */
    @Test
    void aPortThatIsTakenFailsTheStart() {
        for (var config : List.of(
                new ApiConfig("127.0.0.1", server.port(), 0, MAX_BODY, MAX_DEPTH, Duration.ofSeconds(2)),
                new ApiConfig("127.0.0.1", 0, server.metricsPort(), MAX_BODY, MAX_DEPTH, Duration.ofSeconds(2)))) {
            var second = new ApiServer(ApiServer.Dependencies.local(config, node, () -> List.copyOf(engines),
                    new MetricRegistry(), DEFAULT_MAX_TOKENS));
            var e = assertThrows(GpudException.class, second::start);
            assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + config.port() + " (data plane) or 127.0.0.1:"
                    + config.metricsPort() + " (metrics)"), e.getMessage());
        }
    }

    @Test
    void servesMetricsOnItsOwnPort() throws Exception {
        post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":2}");
        get("/no/such/path/12345");
        List<String> expected = List.of(
                "gpud_http_requests_total{route=\"/v1/completions\",status=\"200\"} 1",
                "gpud_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
                "gpud_http_request_duration_seconds_count{route=\"/v1/completions\"} 1",
                "gpud_time_to_first_token_seconds_count{model=\"fake\"} 1",
                "gpud_generated_tokens_total{model=\"fake\"} 2",
                "gpud_prompt_tokens_total{model=\"fake\"} 3",
                "gpud_inflight_requests ",
                "gpud_queue_depth 0");
        // A request is counted after its last byte is sent, so the client can see its
        // response before the count: scrape until every line is there (at most 5 s).
        long deadline = System.nanoTime() + 5_000_000_000L;
        var response = getFromMetricsPort("/metrics");
        while (!expected.stream().allMatch(response.body()::contains) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            response = getFromMetricsPort("/metrics");
        }
        String text = response.body();
        assertEquals(200, response.statusCode());
        assertNodeHeader(response);
        assertEquals(io.gpud.metrics.MetricRegistry.CONTENT_TYPE, response.headers().firstValue("content-type").orElse(""));
        for (String line : expected) {
            assertTrue(text.contains(line), "missing " + line + " in\n" + text);
        }
        assertTrue(!text.contains("12345"), "raw paths never become labels");
        assertEquals(404, getFromMetricsPort("/v1/models").statusCode());
    }

    private java.net.http.HttpResponse<String> getFromMetricsPort(String path) throws Exception {
        return client.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + server.metricsPort() + path)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }
}
