package io.gpud.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.ChatTemplateFixture;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Ollama's {@code /api/chat} with tools: calls in the model's reply come back as {@code message.tool_calls}. */
class OllamaToolsTest extends ApiServerTestBase {

    final FakeEngine qwen = new FakeEngine("qwen", 4096);

    @BeforeEach
    void addModel() {
        qwen.chatTemplate = ChatTemplateFixture.jinja(OpenAiToolsTest.TEMPLATE);
        qwen.reply = "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                + "</tool_call>";
        engines.add(qwen);
    }

    private static String chat(boolean stream) {
        return "{\"model\":\"qwen\",\"stream\":" + stream + ",\"options\":{\"num_predict\":200},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}],"
                + "\"tools\":[" + OpenAiToolsTest.WEATHER + "]}";
    }

    @Test
    void aToolCallInTheReplyComesBackWithItsArgumentsAsAnObject() throws Exception {
        var response = post("/api/chat", chat(false));
        assertEquals(200, response.statusCode(), response.body());
        JsonNode message = json(response).get("message");
        assertEquals("Let me check.", message.get("content").asText());
        JsonNode function = message.at("/tool_calls/0/function");
        assertEquals("get_weather", function.get("name").asText());
        assertTrue(function.get("arguments").isObject(), function.toString());
        assertEquals("Paris", function.at("/arguments/city").asText());
        assertTrue(qwen.lastPrompt().contains("tools: get_weather"), qwen.lastPrompt());
    }

    @Test
    void aStreamedReplyCarriesTheCallInOneOfItsLines() throws Exception {
        var response = post("/api/chat", chat(true));
        assertEquals(200, response.statusCode(), response.body());
        var content = new StringBuilder();
        var calls = new ArrayList<JsonNode>();
        List<JsonNode> lines = ndjson(response.body());
        for (JsonNode line : lines) {
            content.append(line.at("/message/content").asText());
            line.at("/message/tool_calls").forEach(calls::add);
        }
        assertTrue(lines.getLast().get("done").asBoolean());
        assertEquals("Let me check.", content.toString());
        assertEquals(1, calls.size(), calls.toString());
        assertEquals("Paris", calls.getFirst().at("/function/arguments/city").asText());
    }
}
