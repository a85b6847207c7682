package io.gpud.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Open WebUI's Ollama call sequence, as its {@code backend/open_webui/routers/ollama.py}
 * makes it, against {@code gpud run --demo}; each step asserts the fields Open WebUI reads:
 * <ol>
 * <li>{@code get_ollama_versions} / {@code verify_connection}: {@code GET /api/version},
 * reads {@code version} (parsed as dotted numbers).
 * <li>{@code get_all_models}: {@code GET /api/tags}, keys its model list by
 * {@code models[].model} (and merges {@code name}); then {@code get_ollama_loaded_models}:
 * {@code GET /api/ps}, reads {@code models[].name} and {@code expires_at}
 * (ISO 8601, {@code datetime.fromisoformat}).
 * <li>{@code generate_chat_completion}: appends {@code :latest} to an untagged id, checks it
 * against that list, posts {@code /api/chat} streamed with {@code options} and
 * {@code keep_alive}, and passes the NDJSON through ({@code message.content}, {@code done}).
 * <li>{@code unload_model}: {@code POST /api/generate} with {@code prompt: ""} and
 * {@code keep_alive: 0}; then the model is gone from {@code /api/ps}, and the next chat loads it.
 * <li>{@code show_model_info}: {@code POST /api/show} with {@code model}; its front end reads
 * {@code details}, {@code model_info}, {@code capabilities}, {@code template}.
 * <li>{@code embed}: {@code POST /api/embed} with {@code model}, {@code input}, reads
 * {@code embeddings}; {@code embeddings}: {@code POST /api/embeddings}, reads {@code embedding}.
 * </ol>
 */
class OpenWebUiIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void openWebUiCallSequence(@TempDir Path dir) throws Exception {
        try (var d = Daemon.start(dir.resolve("data"), "--demo")) {
            var version = d.get("/api/version");
            assertEquals(200, version.statusCode());
            String v = JSON.readTree(version.body()).get("version").asText();
            assertTrue(v.replaceAll("^v|-.*", "").matches("\\d+(\\.\\d+)*"), v);

            var root = d.get("/");
            assertEquals(200, root.statusCode());
            assertEquals("Ollama is running", root.body());

            var tags = d.get("/api/tags");
            assertEquals(200, tags.statusCode(), tags.body());
            JsonNode tag = JSON.readTree(tags.body()).at("/models/0");
            String id = tag.get("model").asText();
            assertEquals("gpud-demo:latest", id);
            assertEquals(id, tag.get("name").asText());
            assertTrue(tag.get("size").asLong() > 0);
            assertEquals(64, tag.get("digest").asText().length());
            assertFalse(tag.get("modified_at").asText().isEmpty());
            for (String field : List.of("family", "parameter_size", "quantization_level", "format")) {
                assertFalse(tag.at("/details/" + field).asText().isEmpty(), field + " in " + tag);
            }

            JsonNode loaded = ps(d);
            assertEquals(id, loaded.at("/0/name").asText(), loaded.toString());
            OffsetDateTime.parse(loaded.at("/0/expires_at").asText());
            assertEquals(0, loaded.at("/0/size_vram").asLong(), "the demo runs on the CPU");

            chat(d, "gpud-demo:latest");

            var unload = d.post("/api/generate", "{\"model\":\"gpud-demo:latest\",\"keep_alive\":0,\"prompt\":\"\"}");
            assertEquals(200, unload.statusCode(), unload.body());
            JsonNode unloaded = JSON.readTree(unload.body());
            assertEquals("unload", unloaded.get("done_reason").asText());
            assertTrue(unloaded.get("done").asBoolean());
            assertEquals(0, ps(d).size(), "unloaded: /api/ps lists nothing");

            chat(d, "gpud-demo");
            assertEquals(id, ps(d).at("/0/name").asText(), "the chat loaded it again");

            var show = d.post("/api/show", "{\"model\":\"" + id + "\"}");
            assertEquals(200, show.statusCode(), show.body());
            JsonNode s = JSON.readTree(show.body());
            assertEquals("llama", s.at("/details/family").asText());
            assertEquals("llama", s.at("/model_info/general.architecture").asText());
            assertTrue(s.at("/model_info/llama.context_length").asInt() > 0, show.body());
            assertTrue(s.at("/model_info/llama.embedding_length").asInt() > 0, show.body());
            assertTrue(s.get("template").isTextual());
            assertTrue(s.get("capabilities").toString().contains("completion"), show.body());

            var embed = d.post("/api/embed", "{\"model\":\"" + id + "\",\"input\":[\"sky\",\"grass\"]}");
            assertEquals(200, embed.statusCode(), embed.body());
            JsonNode e = JSON.readTree(embed.body()).get("embeddings");
            assertEquals(2, e.size());
            assertEquals(s.at("/model_info/llama.embedding_length").asInt(), e.get(0).size());
            var legacy = d.post("/api/embeddings", "{\"model\":\"" + id + "\",\"prompt\":\"sky\"}");
            assertEquals(200, legacy.statusCode(), legacy.body());
            assertEquals(e.get(0).size(), JSON.readTree(legacy.body()).get("embedding").size());
        }
    }

    private static JsonNode ps(Daemon d) throws Exception {
        var ps = d.get("/api/ps");
        assertEquals(200, ps.statusCode(), ps.body());
        return JSON.readTree(ps.body()).get("models");
    }

    /** A streamed chat as {@code generate_chat_completion} sends it, with options and keep_alive. */
    private static void chat(Daemon d, String model) throws Exception {
        HttpResponse<String> chat = d.post("/api/chat", """
                {"model":"%s","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],
                 "stream":true,"keep_alive":"5m","options":{"temperature":0.7,"num_ctx":256,"num_predict":12,
                 "top_k":40,"top_p":0.9,"seed":1,"repeat_penalty":1.1}}""".formatted(model));
        assertEquals(200, chat.statusCode(), chat.body());
        List<String> lines = chat.body().lines().filter(l -> !l.isBlank()).toList();
        assertTrue(lines.size() > 1, chat.body());
        for (String line : lines.subList(0, lines.size() - 1)) {
            JsonNode chunk = JSON.readTree(line);
            assertFalse(chunk.get("done").asBoolean());
            assertEquals("assistant", chunk.at("/message/role").asText());
            assertTrue(chunk.at("/message/content").isTextual());
        }
        JsonNode last = JSON.readTree(lines.getLast());
        assertTrue(last.get("done").asBoolean(), lines.getLast());
        assertTrue(last.get("eval_count").asInt() > 0);
        Instant.parse(last.get("created_at").asText());
    }
}
