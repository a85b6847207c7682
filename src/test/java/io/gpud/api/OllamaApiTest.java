package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OllamaApiTest extends ApiServerTestBase {

    @Test
    void listsTagsAndVersion() throws Exception {
        var tags = get("/api/tags");
        assertEquals(200, tags.statusCode());
        assertNodeHeader(tags);
        JsonNode model = json(tags).at("/models/0");
        assertEquals("fake:latest", model.get("name").asText());
        assertEquals("fake:latest", model.get("model").asText());
        assertEquals(1_040_000, model.get("size").asLong());
        assertEquals(64, model.get("digest").asText().length());
        assertEquals("260K", model.at("/details/parameter_size").asText());
        assertEquals("F32", model.at("/details/quantization_level").asText());

        var version = get("/api/version");
        assertEquals(200, version.statusCode());
        assertTrue(json(version).get("version").isTextual());
    }

    @Test
    void generatesWithoutStreaming() throws Exception {
        var response = post("/api/generate", """
                {"model":"fake:latest","prompt":"hi","raw":true,"stream":false,
                 "options":{"num_predict":3,"temperature":0,"top_k":5,"seed":7,"stop":["zz"]}}""");
        assertEquals(200, response.statusCode(), response.body());
        assertNodeHeader(response);
        JsonNode body = json(response);
        assertEquals("fake", body.get("model").asText());
        assertEquals("abc", body.get("response").asText());
        assertTrue(body.get("done").asBoolean());
        assertEquals("length", body.get("done_reason").asText());
        assertEquals(3, body.get("prompt_eval_count").asInt());
        assertEquals(3, body.get("eval_count").asInt());
        assertEquals(3_000, body.get("eval_duration").asLong());
        assertEquals(2_000, body.get("prompt_eval_duration").asLong());
        assertTrue(body.get("total_duration").asLong() > 0);
        assertTrue(body.has("load_duration"));
        assertTrue(body.get("created_at").asText().endsWith("Z"));
        var request = engine.submitted.getLast();
        assertEquals(5, request.sampling().topK());
        assertEquals(7, request.sampling().seed());
        assertEquals(List.of("zz"), request.stop());
    }

    @Test
    void generateWithSystemUsesTheChatTemplate() throws Exception {
        post("/api/generate", "{\"model\":\"fake\",\"prompt\":\"hi\",\"system\":\"sys\",\"stream\":false}");
        assertEquals("system: sys\nuser: hi\nassistant: ", engine.lastPrompt());
    }

    @Test
    void emptyPromptOnlyLoads() throws Exception {
        var response = post("/api/generate", "{\"model\":\"fake\"}");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("load", json(response).get("done_reason").asText());
        assertTrue(engine.submitted.isEmpty());
    }

    @Test
    void streamsGenerateAsNdjsonByDefault() throws Exception {
        var response = post("/api/generate", "{\"model\":\"fake\",\"prompt\":\"hi\",\"options\":{\"num_predict\":4}}");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("application/x-ndjson", response.headers().firstValue("content-type").orElse(""));
        List<JsonNode> lines = ndjson(response.body());
        JsonNode last = lines.getLast();
        assertTrue(last.get("done").asBoolean());
        assertEquals("length", last.get("done_reason").asText());
        assertEquals(4, last.get("eval_count").asInt());
        var text = new StringBuilder();
        for (JsonNode line : lines.subList(0, lines.size() - 1)) {
            assertFalse(line.get("done").asBoolean());
            assertFalse(line.has("eval_count"));
            text.append(line.get("response").asText());
        }
        assertEquals("abcd", text.toString());
    }

    @Test
    void chatsWithAndWithoutStreaming() throws Exception {
        var whole = post("/api/chat", """
                {"model":"fake","stream":false,"options":{"num_predict":2},
                 "messages":[{"role":"user","content":"yo"}]}""");
        assertEquals(200, whole.statusCode(), whole.body());
        assertEquals("assistant", json(whole).at("/message/role").asText());
        assertEquals("ab", json(whole).at("/message/content").asText());
        assertTrue(json(whole).get("done").asBoolean());
        assertEquals("user: yo\nassistant: ", engine.lastPrompt());

        var streamed = post("/api/chat", """
                {"model":"fake","options":{"num_predict":3},"messages":[{"role":"user","content":"yo"}]}""");
        List<JsonNode> lines = ndjson(streamed.body());
        assertTrue(lines.getLast().get("done").asBoolean());
        assertEquals(3, lines.getLast().get("eval_count").asInt());
        var text = new StringBuilder();
        lines.forEach(l -> text.append(l.at("/message/content").asText()));
        assertEquals("abc", text.toString());
    }

    @Test
    void negativeNumPredictFillsTheContext() throws Exception {
        var response = post("/api/generate", "{\"model\":\"fake\",\"prompt\":\"hi\",\"raw\":true,\"stream\":false,\"options\":{\"num_predict\":-1}}");
        assertEquals(64 - 3, json(response).get("eval_count").asInt());
    }

    @Test
    void generateRendersThePromptThroughTheChatTemplateUnlessRaw() throws Exception {
        var templated = post("/api/generate", """
                {"model":"fake","prompt":"hi","stream":false,"options":{"num_predict":1}}""");
        assertEquals(200, templated.statusCode(), templated.body());
        assertEquals("user: hi\nassistant: ".length() + 1, json(templated).get("prompt_eval_count").asInt());
        var raw = post("/api/generate", """
                {"model":"fake","prompt":"hi","raw":true,"stream":false,"options":{"num_predict":1}}""");
        assertEquals(200, raw.statusCode(), raw.body());
        assertEquals(3, json(raw).get("prompt_eval_count").asInt());
    }

    @Test
    void errorsAreOllamaShaped() throws Exception {
        var unknown = post("/api/chat", "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals(404, unknown.statusCode());
        assertNodeHeader(unknown);
        assertTrue(json(unknown).get("error").isTextual(), unknown.body());

        var bad = post("/api/generate", "{\"model\":\"fake\",\"prompt\":\"x\",\"options\":{\"temperature\":\"hot\"}}");
        assertEquals(400, bad.statusCode());
        assertTrue(json(bad).get("error").asText().contains("temperature"), bad.body());
        assertStillServes();
    }
}
