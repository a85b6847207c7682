package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.ChatTemplateFixture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code POST /v1/responses}: stateless, whole or as the Responses API's events, with function tools. */
class OpenAiResponsesTest extends ApiServerTestBase {

    final FakeEngine qwen = new FakeEngine("qwen", 4096);

    @BeforeEach
    void addModel() {
        qwen.chatTemplate = ChatTemplateFixture.jinja(OpenAiToolsTest.TEMPLATE);
        engines.add(qwen);
    }

    /** An SSE body's events as (name, data) pairs: each has an {@code event:} line and a {@code data:} line. */
    private static List<JsonNode> namedEvents(String body) throws IOException {
        var events = new ArrayList<JsonNode>();
        for (String block : body.split("\n\n")) {
            if (block.isBlank()) {
                continue;
            }
            String[] lines = block.split("\n");
            assertEquals(2, lines.length, block);
            assertTrue(lines[0].startsWith("event: ") && lines[1].startsWith("data: "), block);
            JsonNode data = JSON.readTree(lines[1].substring("data: ".length()));
            assertEquals(lines[0].substring("event: ".length()), data.get("type").asText(), block);
            events.add(data);
        }
        return events;
    }

    @Test
    void answersTextAsAMessageItem() throws Exception {
        var response = post("/v1/responses", """
                {"model":"fake","input":"hi","instructions":"be brief","max_output_tokens":3,
                 "metadata":{"ticket":"42"},"user":"u1","store":false}""");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = json(response);
        assertTrue(body.get("id").asText().startsWith("resp_"), body.toString());
        assertEquals("response", body.get("object").asText());
        assertEquals("incomplete", body.get("status").asText(), "max_output_tokens ran out");
        assertEquals("max_output_tokens", body.at("/incomplete_details/reason").asText());
        assertEquals("message", body.at("/output/0/type").asText());
        assertEquals("assistant", body.at("/output/0/role").asText());
        assertEquals("output_text", body.at("/output/0/content/0/type").asText());
        assertEquals("abc", body.at("/output/0/content/0/text").asText());
        assertEquals(3, body.at("/usage/output_tokens").asInt());
        assertEquals(engine.submitted.getLast().promptTokens().length, body.at("/usage/input_tokens").asInt());
        assertEquals("42", body.at("/metadata/ticket").asText());
        assertEquals("be brief", body.get("instructions").asText());
        assertEquals(false, body.get("store").asBoolean());
        assertEquals("system: be brief\nuser: hi\nassistant: ", engine.lastPrompt());

        engine.stopAfter = 2;
        assertEquals("completed", json(post("/v1/responses", "{\"model\":\"fake\",\"input\":\"hi\"}"))
                .get("status").asText());
        engine.stopAfter = Integer.MAX_VALUE;
    }

    @Test
    void streamsTheResponsesEventSequence() throws Exception {
        engine.stopAfter = 3;
        var response = post("/v1/responses", "{\"model\":\"fake\",\"input\":\"hi\",\"stream\":true}");
        engine.stopAfter = Integer.MAX_VALUE;
        assertEquals(200, response.statusCode(), response.body());
        List<JsonNode> events = namedEvents(response.body());
        var types = events.stream().map(e -> e.get("type").asText()).toList();
        assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added"), types.subList(0, 4));
        assertEquals(List.of("response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.completed"), types.subList(types.size() - 4, types.size()));
        var text = new StringBuilder();
        for (JsonNode e : events.subList(4, events.size() - 4)) {
            assertEquals("response.output_text.delta", e.get("type").asText());
            assertEquals(0, e.get("output_index").asInt());
            assertEquals(0, e.get("content_index").asInt());
            text.append(e.get("delta").asText());
        }
        assertEquals("abc", text.toString());
        for (int i = 0; i < events.size(); i++) {
            assertEquals(i, events.get(i).get("sequence_number").asInt());
        }
        assertEquals("in_progress", events.get(0).at("/response/status").asText());
        String itemId = events.get(2).at("/item/id").asText();
        assertTrue(itemId.startsWith("msg_"), itemId);
        assertEquals(itemId, events.get(4).get("item_id").asText());
        assertEquals("abc", events.get(events.size() - 4).get("text").asText());
        JsonNode done = events.getLast().get("response");
        assertEquals("completed", done.get("status").asText());
        assertEquals("abc", done.at("/output/0/content/0/text").asText());
        assertEquals(3, done.at("/usage/output_tokens").asInt());
    }

    @Test
    void aFunctionCallIsAnOutputItemWholeAndStreamed() throws Exception {
        String request = """
                {"model":"qwen","input":"Weather in Paris?","tool_choice":"required","max_output_tokens":200,%s
                 "tools":[{"type":"function","name":"get_weather","description":"Current weather","strict":true,
                   "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],
                   "additionalProperties":false}}]}""";
        var whole = post("/v1/responses", request.formatted(""));
        assertEquals(200, whole.statusCode(), whole.body());
        JsonNode item = json(whole).at("/output/0");
        assertEquals("function_call", item.get("type").asText(), whole.body());
        assertTrue(item.get("call_id").asText().startsWith("call_"), item.toString());
        assertEquals("get_weather", item.get("name").asText());
        assertTrue(JSON.readTree(item.get("arguments").asText()).get("city").isTextual(), item.toString());
        assertEquals("completed", item.get("status").asText());
        assertNotNull(qwen.submitted.getLast().constraint());
        assertTrue(qwen.lastPrompt().contains("tools: get_weather"), qwen.lastPrompt());

        List<JsonNode> events = namedEvents(post("/v1/responses", request.formatted("\"stream\":true,")).body());
        var types = events.stream().map(e -> e.get("type").asText()).toList();
        assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added",
                "response.function_call_arguments.delta", "response.function_call_arguments.done",
                "response.output_item.done", "response.completed"), types);
        assertEquals("", events.get(2).at("/item/arguments").asText());
        assertEquals(events.get(3).get("delta").asText(), events.get(4).get("arguments").asText());
        assertEquals("get_weather", events.getLast().at("/response/output/0/name").asText());
    }

    @Test
    void inputItemsReplayAToolRoundTrip() throws Exception {
        var response = post("/v1/responses", """
                {"model":"qwen","max_output_tokens":2,
                 "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}],
                 "input":[{"role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]},
                   {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"},
                   {"type":"function_call_output","call_id":"call_1","output":"sunny"},
                   {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Sunny.","annotations":[]}]},
                   {"role":"user","content":"Thanks"}]}""");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("<|user|>Weather in Paris?\n<|assistant|><tool_call>{\"name\": \"get_weather\", \"arguments\": "
                + "{\"city\": \"Paris\"}}</tool_call>\n<|tool|>sunny(call_1 get_weather)\n<|assistant|>Sunny.\n"
                + "<|user|>Thanks\ntools: get_weather\n<|assistant|>", qwen.lastPrompt());
    }

    @Test
    void textFormatJsonSchemaIsEnforced() throws Exception {
        var response = post("/v1/responses", """
                {"model":"qwen","input":"Weather?","max_output_tokens":100,"text":{"format":{"type":"json_schema",
                 "name":"weather","strict":true,"schema":{"type":"object","properties":{"ok":{"type":"boolean"}},
                 "required":["ok"],"additionalProperties":false}}}}""");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode document = JSON.readTree(json(response).at("/output/0/content/0/text").asText());
        assertTrue(document.get("ok").isBoolean(), document.toString());
        assertEquals("json_schema", json(response).at("/text/format/type").asText());
    }

    @Test
    void reasoningBecomesAReasoningItemBeforeTheMessage() throws Exception {
        qwen.chatTemplate = ChatTemplateFixture.jinja(OpenAiToolsTest.TEMPLATE + "{#- <think> -#}");
        qwen.reply = "<think>It is a city.</think>Sunny.";
        JsonNode output = json(post("/v1/responses", "{\"model\":\"qwen\",\"input\":\"Weather?\",\"max_output_tokens\":100,"
                + "\"reasoning\":{\"effort\":\"low\"}}")).get("output");
        assertEquals("reasoning", output.at("/0/type").asText(), output.toString());
        assertEquals("It is a city.", output.at("/0/content/0/text").asText(), output.toString());
        assertEquals("message", output.at("/1/type").asText());
        assertEquals("Sunny.", output.at("/1/content/0/text").asText());
    }
}
