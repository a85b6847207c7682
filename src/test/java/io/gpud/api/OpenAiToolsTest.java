package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.ChatTemplateFixture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tools, reasoning, structured output and log-probabilities on {@code /v1/chat/completions},
 * over a model whose template shows Hermes {@code <tool_call>} blocks (as Qwen's do) and
 * {@code <think>} sections. The fake engine replies with scripted text, or, under a
 * constraint, with the tokens the constraint allows.
 */
class OpenAiToolsTest extends ApiServerTestBase {

    /** Qwen-like: messages, earlier calls as tool_call blocks, the tools offered, the enable_thinking switch. */
    static final String TEMPLATE = """
            {%- for m in messages -%}
            <|{{ m.role }}|>{{ m.content }}{% if m.reasoning_content %}(reasoning: {{ m.reasoning_content }}){% endif %}\
            {% if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>{"name": "{{ c.function.name }}", \
            "arguments": {{ c.function.arguments | tojson }}}</tool_call>{% endfor %}{% endif %}\
            {% if m.role == 'tool' %}({{ m.tool_call_id }} {{ m.name }}){% endif %}{{ '\\n' }}
            {%- endfor -%}
            {%- if tools %}tools:{% for t in tools %} {{ t.function.name }}{% endfor %}{{ '\\n' }}{% endif -%}
            {%- if enable_thinking is defined %}thinking:{{ enable_thinking }} effort:{{ reasoning_effort }}\
            {{ '\\n' }}{% endif -%}
            {%- if add_generation_prompt %}<|assistant|>{% endif -%}""";
    static final String WEATHER = """
            {"type":"function","function":{"name":"get_weather","description":"Current weather",
             "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],
             "additionalProperties":false}}}""";
    static final String TIME = """
            {"type":"function","function":{"name":"get_time","parameters":{"type":"object",
             "properties":{"zone":{"type":"string","enum":["utc","cet"]}},"required":["zone"],
             "additionalProperties":false}}}""";
    private static final String ASK = "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}]";

    final FakeEngine qwen = new FakeEngine("qwen", 4096);

    @BeforeEach
    void addModel() {
        qwen.chatTemplate = ChatTemplateFixture.jinja(TEMPLATE);
        engines.add(qwen);
    }

    private static String chat(String fields) {
        return "{\"model\":\"qwen\",\"max_tokens\":200," + ASK + "," + fields + "}";
    }

    @Test
    void aToolCallInTheReplyBecomesToolCalls() throws Exception {
        qwen.reply = "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                + "</tool_call>";
        var response = post("/v1/chat/completions", chat("\"tools\":[" + WEATHER + "]"));
        assertEquals(200, response.statusCode(), response.body());
        JsonNode choice = json(response).at("/choices/0");
        assertEquals("tool_calls", choice.get("finish_reason").asText());
        assertEquals("Let me check.", choice.at("/message/content").asText());
        JsonNode call = choice.at("/message/tool_calls/0");
        assertTrue(call.get("id").asText().startsWith("call_"), call.toString());
        assertEquals("function", call.get("type").asText());
        assertEquals("get_weather", call.at("/function/name").asText());
        assertEquals("Paris", JSON.readTree(call.at("/function/arguments").asText()).get("city").asText());
        assertTrue(qwen.lastPrompt().contains("tools: get_weather"), qwen.lastPrompt());
        assertNull(qwen.submitted.getLast().constraint(), "auto does not constrain");
    }

    @Test
    void aReplyOfCallsAloneHasNullContent() throws Exception {
        qwen.reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>";
        JsonNode message = json(post("/v1/chat/completions", chat("\"tools\":[" + WEATHER + "]")))
                .at("/choices/0/message");
        assertTrue(message.has("content") && message.get("content").isNull(), message.toString());
        assertEquals(1, message.get("tool_calls").size());
    }

    @Test
    void streamedToolCallsCarryTheirIndex() throws Exception {
        qwen.reply = "Checking.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                + "</tool_call><tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"cet\"}}\n</tool_call>";
        var response = post("/v1/chat/completions", chat("\"stream\":true,\"tools\":[" + WEATHER + "," + TIME + "]"));
        assertEquals(200, response.statusCode(), response.body());
        var content = new StringBuilder();
        var calls = new ArrayList<JsonNode>();
        String finish = null;
        for (JsonNode e : sseEvents(response.body())) {
            if (!e.isObject()) {
                continue;
            }
            JsonNode delta = e.at("/choices/0/delta");
            if (delta.has("content")) {
                content.append(delta.get("content").asText());
            }
            delta.path("tool_calls").forEach(calls::add);
            if (!e.at("/choices/0/finish_reason").isNull()) {
                finish = e.at("/choices/0/finish_reason").asText();
            }
        }
        assertEquals("Checking.", content.toString());
        assertEquals(2, calls.size());
        assertEquals(0, calls.get(0).get("index").asInt());
        assertEquals(1, calls.get(1).get("index").asInt());
        assertEquals("get_time", calls.get(1).at("/function/name").asText());
        assertEquals("{\"zone\":\"cet\"}", calls.get(1).at("/function/arguments").asText());
        assertEquals("tool_calls", finish);
    }

    @Test
    void parallelToolCallsFalseKeepsTheFirstCall() throws Exception {
        qwen.reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
                + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"cet\"}}\n</tool_call>";
        JsonNode calls = json(post("/v1/chat/completions", chat("\"parallel_tool_calls\":false,\"tools\":["
                + WEATHER + "," + TIME + "]"))).at("/choices/0/message/tool_calls");
        assertEquals(1, calls.size(), calls.toString());
        assertEquals("get_weather", calls.at("/0/function/name").asText());
    }

    @Test
    void requiredAndNamedToolChoicesHoldTheModelToACall() throws Exception {
        var required = post("/v1/chat/completions", chat("\"tool_choice\":\"required\",\"tools\":[" + WEATHER + "]"));
        assertEquals(200, required.statusCode(), required.body());
        assertNotNull(qwen.submitted.getLast().constraint());
        JsonNode call = json(required).at("/choices/0/message/tool_calls/0");
        assertEquals("get_weather", call.at("/function/name").asText(), required.body());
        assertTrue(JSON.readTree(call.at("/function/arguments").asText()).get("city").isTextual(), call.toString());
        assertEquals("tool_calls", json(required).at("/choices/0/finish_reason").asText());

        var named = post("/v1/chat/completions", chat("\"tool_choice\":{\"type\":\"function\",\"function\":"
                + "{\"name\":\"get_time\"}},\"stream\":true,\"tools\":[" + WEATHER + "," + TIME + "]"));
        assertEquals(200, named.statusCode(), named.body());
        JsonNode streamed = sseEvents(named.body()).stream()
                .filter(e -> e.at("/choices/0/delta/tool_calls/0").isObject()).findFirst().orElseThrow();
        JsonNode arguments = JSON.readTree(streamed.at("/choices/0/delta/tool_calls/0/function/arguments").asText());
        assertEquals("get_time", streamed.at("/choices/0/delta/tool_calls/0/function/name").asText());
        assertTrue(List.of("utc", "cet").contains(arguments.get("zone").asText()), arguments.toString());
    }

    @Test
    void aForcedCallThatCannotFitIsRefusedNamingTheTokenBudget() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/chat/completions", "{\"model\":\"qwen\",\"max_tokens\":10,"
                + ASK + ",\"tool_choice\":\"required\",\"tools\":[" + WEATHER + "]}"), 400);
        assertEquals("max_tokens", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("10 tokens"), error.toString());
        JsonNode responses = assertOpenAiError(post("/v1/responses", """
                {"model":"qwen","input":"hi","max_output_tokens":2,"text":{"format":{"type":"json_object"}}}"""), 400);
        assertEquals("max_output_tokens", responses.get("param").asText());
    }

    @Test
    void toolChoiceNoneHidesTheToolsAndParsesNothing() throws Exception {
        qwen.reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>";
        JsonNode choice = json(post("/v1/chat/completions", chat("\"tool_choice\":\"none\",\"tools\":[" + WEATHER
                + "]"))).at("/choices/0");
        assertFalse(qwen.lastPrompt().contains("tools:"), qwen.lastPrompt());
        assertEquals(qwen.reply, choice.at("/message/content").asText());
        assertFalse(choice.get("message").has("tool_calls"));
        assertEquals("stop", choice.get("finish_reason").asText());
    }

    @Test
    void aToolRoundTripReachesTheTemplate() throws Exception {
        var response = post("/v1/chat/completions", """
                {"model":"qwen","max_tokens":2,"tools":[%s],"tool_choice":"auto","messages":[
                  {"role":"user","content":"Weather in Paris?"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                    "function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
                  {"role":"tool","tool_call_id":"call_1","name":"get_weather","content":"sunny"}]}""".formatted(WEATHER));
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("<|user|>Weather in Paris?\n<|assistant|><tool_call>{\"name\": \"get_weather\", \"arguments\": "
                + "{\"city\": \"Paris\"}}</tool_call>\n<|tool|>sunny(call_1 get_weather)\ntools: get_weather\n"
                + "<|assistant|>", qwen.lastPrompt());
    }

    @Test
    void aModelWithoutToolSyntaxRefusesTools() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/chat/completions", "{\"model\":\"fake\"," + ASK
                + ",\"tools\":[" + WEATHER + "]}"), 400);
        assertEquals("tools", error.get("param").asText());
        var none = post("/v1/chat/completions", "{\"model\":\"fake\",\"max_tokens\":1," + ASK + ",\"tools\":["
                + WEATHER + "],\"tool_choice\":\"none\"}");
        assertEquals(200, none.statusCode(), none.body());
    }

    @Test
    void reasoningIsSplitIntoReasoningContent() throws Exception {
        qwen.chatTemplate = ChatTemplateFixture.jinja(TEMPLATE + "{#- replies may open with <think> -#}");
        qwen.reply = "<think>It is a city.</think>Sunny.";
        JsonNode message = json(post("/v1/chat/completions", chat("\"temperature\":0"))).at("/choices/0/message");
        assertEquals("It is a city.", message.get("reasoning_content").asText());
        assertEquals("Sunny.", message.get("content").asText());

        var streamed = post("/v1/chat/completions", chat("\"stream\":true"));
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        for (JsonNode e : sseEvents(streamed.body())) {
            reasoning.append(e.at("/choices/0/delta/reasoning_content").asText(""));
            content.append(e.at("/choices/0/delta/content").asText(""));
        }
        assertEquals("It is a city.", reasoning.toString());
        assertEquals("Sunny.", content.toString());
    }

    @Test
    void reasoningEffortReachesAReasoningModelsTemplate() throws Exception {
        JsonNode refused = assertOpenAiError(post("/v1/chat/completions", chat("\"reasoning_effort\":\"low\"")), 400);
        assertEquals("reasoning_effort", refused.get("param").asText());
        assertTrue(refused.get("message").asText().contains("does not reason"), refused.toString());

        qwen.chatTemplate = ChatTemplateFixture.jinja(TEMPLATE + "{#- replies may open with <think> -#}");
        assertEquals(200, post("/v1/chat/completions", chat("\"reasoning_effort\":\"minimal\"")).statusCode());
        assertTrue(qwen.lastPrompt().toLowerCase(Locale.ROOT).contains("thinking:false effort:minimal"),
                qwen.lastPrompt());
        post("/v1/chat/completions", chat("\"reasoning_effort\":\"high\""));
        assertTrue(qwen.lastPrompt().toLowerCase(Locale.ROOT).contains("thinking:true effort:high"),
                qwen.lastPrompt());
    }

    @Test
    void jsonSchemaResponseFormatIsEnforced() throws Exception {
        var response = post("/v1/chat/completions", chat("""
                "response_format":{"type":"json_schema","json_schema":{"name":"weather","strict":true,"schema":{
                  "type":"object","properties":{"city":{"type":"string","maxLength":8},
                  "conditions":{"type":"string","enum":["sunny","rainy"]}},"required":["city","conditions"],
                  "additionalProperties":false}}}"""));
        assertEquals(200, response.statusCode(), response.body());
        JsonNode document = JSON.readTree(json(response).at("/choices/0/message/content").asText());
        assertTrue(document.get("city").isTextual(), document.toString());
        assertTrue(List.of("sunny", "rainy").contains(document.get("conditions").asText()), document.toString());
        assertEquals("stop", json(response).at("/choices/0/finish_reason").asText());

        var object = post("/v1/chat/completions", chat("\"response_format\":{\"type\":\"json_object\"}"));
        assertTrue(JSON.readTree(json(object).at("/choices/0/message/content").asText()).isObject(), object.body());

        var text = post("/v1/chat/completions", chat("\"max_tokens\":2,\"response_format\":{\"type\":\"text\"}"));
        assertEquals("ab", json(text).at("/choices/0/message/content").asText());
        assertNull(qwen.submitted.getLast().constraint());
    }

    @Test
    void aSchemaThatCannotBeEnforcedIsRefusedWithItsPointer() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/chat/completions", chat("""
                "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{
                  "type":"object","properties":{"a":{"type":"string","dependentRequired":{}}}}}}""")), 400);
        assertEquals("response_format.json_schema.schema", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("/properties/a"), error.toString());

        JsonNode withTools = assertOpenAiError(post("/v1/chat/completions", chat("\"tools\":[" + WEATHER + "],"
                + "\"response_format\":{\"type\":\"json_object\"}")), 400);
        assertEquals("response_format", withTools.get("param").asText());
    }

    @Test
    void chatLogprobsCarryTokensBytesAndAlternatives() throws Exception {
        var response = post("/v1/chat/completions", chat("\"max_tokens\":2,\"logprobs\":true,\"top_logprobs\":1"));
        assertEquals(200, response.statusCode(), response.body());
        JsonNode content = json(response).at("/choices/0/logprobs/content");
        assertEquals(2, content.size(), response.body());
        assertEquals("a", content.at("/0/token").asText());
        assertEquals(-0.1, content.at("/0/logprob").asDouble(), 1e-6);
        assertEquals("[97]", content.at("/0/bytes").toString());
        assertEquals("b", content.at("/0/top_logprobs/0/token").asText());
        assertEquals(-0.2, content.at("/0/top_logprobs/0/logprob").asDouble(), 1e-6);

        var streamed = post("/v1/chat/completions", chat("\"max_tokens\":2,\"logprobs\":true,\"stream\":true"));
        int tokens = 0;
        for (JsonNode e : sseEvents(streamed.body())) {
            tokens += e.at("/choices/0/logprobs/content").size();
        }
        assertEquals(2, tokens);
        assertEquals(0, qwen.submitted.getLast().topLogprobs());
    }

    @Test
    void severalChatChoicesStreamWithTheirIndex() throws Exception {
        var response = post("/v1/chat/completions", chat("\"max_tokens\":2,\"n\":2,\"seed\":5,\"stream\":true"));
        var text = new StringBuilder[] {new StringBuilder(), new StringBuilder()};
        int roles = 0;
        for (JsonNode e : sseEvents(response.body())) {
            JsonNode choice = e.at("/choices/0");
            if (choice.isMissingNode()) {
                continue;
            }
            roles += choice.at("/delta/role").isTextual() ? 1 : 0;
            text[choice.get("index").asInt()].append(choice.at("/delta/content").asText(""));
        }
        assertEquals(2, roles);
        assertEquals("ab", text[0].toString());
        assertEquals("ab", text[1].toString());
        assertEquals(List.of(5L, 6L), qwen.submitted.stream().map(r -> r.sampling().seed()).toList());
    }
}
