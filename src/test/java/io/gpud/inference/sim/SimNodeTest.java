package io.gpud.inference.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.config.GpudConfig;
import io.gpud.node.Cloud;
import io.gpud.node.LoopbackNodes;
import io.gpud.node.ModelLoader;
import io.gpud.node.Node;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.state.EmbeddedStateStore;
import io.gpud.state.StateStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node on {@code engine.backend: sim} with the demo model streams a chat answer as any node does. */
class SimNodeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aSimNodeStreamsAChatCompletion(@TempDir Path dir) throws Exception {
        GpudConfig config = LoopbackNodes.config(dir, "sim", Map.of(
                "model.demo", "true",
                "gossip.profile", "loopback",
                "engine.backend", "sim",
                "node.id", "sim"));
        var store = new EmbeddedStateStore();
        Cloud cloud = new Cloud() {
            @Override
            public StateStore stateStore(GpudConfig c) {
                return store;
            }

            @Override
            public AwsAutoScaling autoScaling(GpudConfig c) {
                throw new AssertionError("scaling is off");
            }
        };
        try (Node node = Node.start(config, cloud, ModelLoader.BACKENDS)) {
            var http = HttpClient.newHttpClient();
            var tags = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/api/tags"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            JsonNode details = JSON.readTree(tags.body()).path("models").path(0).path("details");
            assertEquals("sim:fp16", details.path("quantization_level").asText(), tags.body());
            assertEquals("8.0B", details.path("parameter_size").asText(), tags.body());

            String body = "{\"model\":\"gpud-demo\",\"stream\":true,\"max_tokens\":12,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";
            var response = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/v1/chat/completions"))
                            .header("content-type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofLines());
            assertEquals(200, response.statusCode());
            assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            var content = new StringBuilder();
            var chunks = new ArrayList<JsonNode>();
            boolean done = false;
            for (String line : (Iterable<String>) response.body()::iterator) {
                if (!line.startsWith("data: ")) {
                    continue;
                }
                String data = line.substring("data: ".length());
                if (data.equals("[DONE]")) {
                    done = true;
                    continue;
                }
                JsonNode chunk = JSON.readTree(data);
                chunks.add(chunk);
                content.append(chunk.path("choices").path(0).path("delta").path("content").asText(""));
            }
            assertTrue(done, "the stream ends with [DONE]");
            assertTrue(chunks.size() > 2, chunks.toString());
            String finish = chunks.stream().map(c -> c.path("choices").path(0).path("finish_reason").asText(""))
                    .filter(s -> !s.isEmpty() && !s.equals("null")).findFirst().orElse("");
            assertEquals("length", finish, "the sim never ends early: " + chunks);
            assertTrue(content.toString().matches("[A-Za-z0-9 .,;:!?'-]+"), content.toString());
        }
    }
}
