package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.config.ApiConfig;
import io.gpud.inference.EmbeddingRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Ollama routes beyond generation, every refused field, and CORS. */
class OllamaRoutesTest extends ApiServerTestBase {

    @Test
    void rootSaysOllamaIsRunning() throws Exception {
        var get = get("/");
        assertEquals(200, get.statusCode());
        assertEquals("Ollama is running", get.body());
        assertTrue(get.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        var head = client.send(HttpRequest.newBuilder(uri("/")).method("HEAD", HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
    }

    @Test
    void psListsTheLoadedModel() throws Exception {
        var ps = get("/api/ps");
        assertEquals(200, ps.statusCode(), ps.body());
        JsonNode m = json(ps).at("/models/0");
        assertEquals("fake:latest", m.get("name").asText());
        assertEquals("fake:latest", m.get("model").asText());
        assertEquals(1_040_000, m.get("size").asLong());
        assertEquals(1_040_000, m.get("size_vram").asLong(), "the fake device is not the CPU");
        assertEquals(64, m.get("digest").asText().length());
        assertEquals("llama", m.at("/details/family").asText());
        assertTrue(m.get("expires_at").asText().endsWith("Z"), ps.body());
    }

    @Test
    void showDescribesTheModel() throws Exception {
        for (String request : List.of("{\"model\":\"fake\"}", "{\"model\":\"fake:latest\"}", "{\"name\":\"fake\"}")) {
            var show = post("/api/show", request);
            assertEquals(200, show.statusCode(), show.body());
            JsonNode body = json(show);
            assertEquals("llama", body.at("/details/family").asText());
            assertEquals("260K", body.at("/details/parameter_size").asText());
            assertEquals("llama", body.at("/model_info/general.architecture").asText());
            assertEquals(64, body.at("/model_info/llama.context_length").asInt());
            assertEquals(260_000, body.at("/model_info/general.parameter_count").asLong());
            assertTrue(body.get("template").isTextual());
            assertEquals("completion", body.at("/capabilities/0").asText());
            assertEquals("embedding", body.at("/capabilities/1").asText());
        }
        assertEquals(404, post("/api/show", "{\"model\":\"fake:v9\"}").statusCode());
        engine.refusing = "the fake backend does not compute embeddings";
        assertFalse(json(post("/api/show", "{\"model\":\"fake\"}")).get("capabilities").toString().contains("embedding"),
                "a backend that does not embed does not claim to");
    }

    @Test
    void unloadAndLoadCallsAnswerAsOllama() throws Exception {
        var unload = post("/api/generate", "{\"model\":\"fake:latest\",\"prompt\":\"\",\"keep_alive\":0}");
        assertEquals(200, unload.statusCode(), unload.body());
        assertEquals("unload", json(unload).get("done_reason").asText());
        assertTrue(json(unload).get("done").asBoolean());
        var chatUnload = post("/api/chat", "{\"model\":\"fake\",\"messages\":[],\"keep_alive\":\"0s\"}");
        assertEquals("unload", json(chatUnload).get("done_reason").asText(), chatUnload.body());
        assertEquals("", json(chatUnload).at("/message/content").asText());
        var load = post("/api/chat", "{\"model\":\"fake\",\"messages\":[],\"keep_alive\":\"5m\"}");
        assertEquals("load", json(load).get("done_reason").asText(), load.body());
        assertTrue(engine.submitted.isEmpty());
    }

    @Test
    void optionsReachTheEngine() throws Exception {
        var response = post("/api/chat", """
                {"model":"fake:latest","stream":false,"keep_alive":"1h30m","messages":[{"role":"user","content":"yo"}],
                 "options":{"num_predict":50,"num_ctx":32,"repeat_penalty":1.3,"repeat_last_n":16,
                 "presence_penalty":0.5,"frequency_penalty":0.25,"num_thread":8,"num_gpu":99,"use_mmap":true}}""");
        assertEquals(200, response.statusCode(), response.body());
        var request = engine.submitted.getLast();
        assertEquals(1.3f, request.penalties().repetition(), 1e-6);
        assertEquals(16, request.penalties().lastN());
        assertEquals(0.5f, request.penalties().presence(), 1e-6);
        assertEquals(0.25f, request.penalties().frequency(), 1e-6);
        assertEquals(32 - request.promptTokens().length, request.maxTokens(), "num_ctx caps prompt and generation");
    }

    @Test
    void raw() throws Exception {
        var response = post("/api/generate", "{\"model\":\"fake\",\"prompt\":\"hi\",\"raw\":true,\"stream\":false}");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("hi", engine.lastPrompt());
        assertEquals(FakeEngine.BOS, engine.submitted.getLast().promptTokens()[0]);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            /api/generate | suffix            | {"model":"fake","prompt":"a","suffix":"b"}
            /api/generate | template          | {"model":"fake","prompt":"a","template":"{{ .Prompt }}"}
            /api/generate | context           | {"model":"fake","prompt":"a","context":[1,2]}
            /api/generate | images            | {"model":"fake","prompt":"a","images":["aGk="]}
            /api/generate | system            | {"model":"fake","prompt":"a","raw":true,"system":"s"}
            /api/generate | format            | {"model":"fake","prompt":"a","format":"yaml"}
            /api/generate | think             | {"model":"fake","prompt":"a","think":"very"}
            /api/generate | keep_alive        | {"model":"fake","prompt":"a","keep_alive":"soon"}
            /api/generate | unknown           | {"model":"fake","prompt":"a","unknown":1}
            /api/generate | options.mirostat  | {"model":"fake","prompt":"a","options":{"mirostat":1}}
            /api/generate | options.mirostat_eta | {"model":"fake","prompt":"a","options":{"mirostat_eta":0.1}}
            /api/generate | options.mirostat_tau | {"model":"fake","prompt":"a","options":{"mirostat_tau":5}}
            /api/generate | options.tfs_z     | {"model":"fake","prompt":"a","options":{"tfs_z":1}}
            /api/generate | options.typical_p | {"model":"fake","prompt":"a","options":{"typical_p":0.7}}
            /api/generate | options.min_p     | {"model":"fake","prompt":"a","options":{"min_p":0.05}}
            /api/generate | options.num_keep  | {"model":"fake","prompt":"a","options":{"num_keep":5}}
            /api/generate | options.penalize_newline | {"model":"fake","prompt":"a","options":{"penalize_newline":true}}
            /api/generate | options.num_ctx   | {"model":"fake","prompt":"a","options":{"num_ctx":65}}
            /api/generate | options.repeat_last_n | {"model":"fake","prompt":"a","options":{"repeat_last_n":-2}}
            /api/chat     | template          | {"model":"fake","messages":[{"role":"user","content":"a"}],"template":"x"}
            /api/chat     | messages[0].name  | {"model":"fake","messages":[{"role":"user","content":"a","name":"x"}]}
            /api/chat     | messages[0].images | {"model":"fake","messages":[{"role":"user","content":"a","images":["aGk="]}]}
            /api/chat     | options.tfs_z     | {"model":"fake","messages":[{"role":"user","content":"a"}],"options":{"tfs_z":1}}
            /api/chat     | chat_template_kwargs | {"model":"fake","messages":[{"role":"user","content":"a"}],"chat_template_kwargs":{}}
            /api/embed    | dimensions        | {"model":"fake","input":"a","dimensions":2}
            /api/embed    | options.temperature | {"model":"fake","input":"a","options":{"temperature":1}}
            /api/embed    | context is 64     | {"model":"fake","input":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","truncate":false}
            /api/embeddings | input           | {"model":"fake","input":"a"}
            /api/show     | verbosity         | {"model":"fake","verbosity":true}
            """)
    void refusedFieldsAre400sNamingThem(String path, String field, String body) throws Exception {
        var response = post(path, body);
        assertEquals(400, response.statusCode(), response.body());
        String error = json(response).get("error").asText();
        assertTrue(error.contains(field), field + " named in: " + error);
        assertStillServes();
    }

    @Test
    void embedsEachInputAndTheLegacyPrompt() throws Exception {
        var embed = post("/api/embed", "{\"model\":\"fake:latest\",\"input\":[\"hi\",\"abc\"],\"keep_alive\":-1,"
                + "\"options\":{\"num_thread\":4}}");
        assertEquals(200, embed.statusCode(), embed.body());
        JsonNode body = json(embed);
        assertEquals("fake", body.get("model").asText());
        assertEquals(2, body.get("embeddings").size());
        assertEquals(List.of(3, 4), engine.embedded.stream().map(r -> r.tokens().length).toList(), "BOS + the bytes");
        assertTrue(engine.embedded.stream().allMatch(EmbeddingRequest::normalize), "normalised");
        assertEquals(1.0, norm(body.at("/embeddings/0")), 1e-5);
        assertEquals(7, body.get("prompt_eval_count").asInt());
        assertTrue(body.has("total_duration") && body.has("load_duration"));

        var one = post("/api/embed", "{\"model\":\"fake\",\"input\":\"" + "a".repeat(80) + "\"}");
        assertEquals(200, one.statusCode(), one.body());
        assertEquals(64, engine.embedded.getLast().tokens().length, "truncated to the context");

        var legacy = post("/api/embeddings", "{\"model\":\"fake\",\"prompt\":\"hi\"}");
        assertEquals(200, legacy.statusCode(), legacy.body());
        assertEquals(3, json(legacy).at("/embedding/0").asInt());
        assertFalse(engine.embedded.getLast().normalize(), "the legacy route does not normalise");
    }

    private static double norm(JsonNode vector) {
        double sum = 0;
        for (JsonNode x : vector) {
            sum += x.asDouble() * x.asDouble();
        }
        return sum;
    }

    @ParameterizedTest
    @CsvSource({"/api/pull,gpud model publish", "/api/push,gpud model publish", "/api/create,gpud model publish",
            "/api/copy,gpud model publish", "/api/delete,gpud model load"})
    void modelManagementNamesTheAdminCommand(String path, String command) throws Exception {
        var response = post(path, "{\"model\":\"fake\"}");
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(json(response).get("error").asText().contains(command), response.body());
        var delete = client.send(HttpRequest.newBuilder(uri(path)).method("DELETE",
                HttpRequest.BodyPublishers.ofString("{\"model\":\"fake\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, delete.statusCode(), delete.body());
    }

    @Test
    void corsIsOffByDefault() throws Exception {
        var response = client.send(HttpRequest.newBuilder(uri("/api/tags")).header("Origin", "https://ui.example")
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertFalse(response.headers().firstValue("access-control-allow-origin").isPresent());
        var preflight = client.send(HttpRequest.newBuilder(uri("/api/chat")).header("Origin", "https://ui.example")
                .header("Access-Control-Request-Method", "POST")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, preflight.statusCode());
    }

    @Test
    void corsAnswersAllowedOrigins() throws Exception {
        var config = new ApiConfig("127.0.0.1", 0, 0, MAX_BODY, MAX_DEPTH, Duration.ofSeconds(2))
                .withCorsOrigins(List.of("https://ui.example"));
        try (var cors = new ApiServer(ApiServer.Dependencies.local(config, node, () -> List.copyOf(engines),
                new io.gpud.metrics.MetricRegistry(),
                DEFAULT_MAX_TOKENS)).start()) {
            var base = "http://127.0.0.1:" + cors.port();
            for (String path : List.of("/api/chat", "/v1/chat/completions")) {
                var preflight = client.send(HttpRequest.newBuilder(java.net.URI.create(base + path))
                        .header("Origin", "https://ui.example").header("Access-Control-Request-Method", "POST")
                        .header("Access-Control-Request-Headers", "content-type, authorization")
                        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(204, preflight.statusCode(), preflight.body());
                assertEquals("https://ui.example", preflight.headers().firstValue("access-control-allow-origin")
                        .orElse(null));
                assertTrue(preflight.headers().firstValue("access-control-allow-methods").orElse("").contains("POST"));
                assertEquals("content-type, authorization",
                        preflight.headers().firstValue("access-control-allow-headers").orElse(null));
            }
            var tags = client.send(HttpRequest.newBuilder(java.net.URI.create(base + "/api/tags"))
                    .header("Origin", "https://ui.example").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, tags.statusCode());
            assertEquals("https://ui.example", tags.headers().firstValue("access-control-allow-origin").orElse(null));
            var other = client.send(HttpRequest.newBuilder(java.net.URI.create(base + "/api/tags"))
                    .header("Origin", "https://evil.example").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertFalse(other.headers().firstValue("access-control-allow-origin").isPresent());
        }
    }
}
