package io.gpud.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.ChatTemplateFixture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a chat request carries beside plain text reaches the model's Jinja template through
 * the HTTP routes as Hugging Face's {@code apply_chat_template} would receive it, or is
 * refused with a 400 naming the field: nothing is dropped on the way.
 */
class ChatTemplateFieldsApiTest extends ApiServerTestBase {
    /**
     * Shows each message's role, name, reasoning, tool calls and content (parts joined by a
     * space, as templates that loop over parts do), then the tools offered.
     */
    private static final String TEMPLATE = """
            {#- the model calls tools in <tool_call> blocks -#}
            {%- for m in messages -%}
            {{ m.role }}{% if m.name is defined %}({{ m.name }}){% endif %}\
            {% if m.reasoning_content is defined %}<think>{{ m.reasoning_content }}</think>{% endif %}\
            {% if m.tool_calls %}{% for c in m.tool_calls %}<call {{ c.function.name }}>{% endfor %}{% endif %}:[\
            {%- if m.content is string %}{{ m.content }}{% else %}\
            {% for p in m.content %}{{ p.text }}{% if not loop.last %} {% endif %}{% endfor %}{% endif %}]\
            {{ '\\n' }}{% endfor -%}
            {%- if tools %}tools:{% for t in tools %}{{ t.function.name }}{% endfor %}{{ '\\n' }}{% endif -%}
            {%- if add_generation_prompt %}assistant:{% endif -%}""";
    private static final String TOOLS = """
            "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]""";

    private final FakeEngine jinja = new FakeEngine("jinja", 4096);

    @BeforeEach
    void addJinjaModel() {
        jinja.chatTemplate = ChatTemplateFixture.jinja(TEMPLATE);
        engines.add(jinja);
    }

    @Test
    void openAiContentPartsReachTheTemplateAsAList() throws Exception {
        var response = post("/v1/chat/completions", """
                {"model":"jinja","max_tokens":1,"messages":[
                  {"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":"world"}]}]}""");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("user:[Hello world]\nassistant:", jinja.lastPrompt());
    }

    @Test
    void plainStringContentIsUnchanged() throws Exception {
        var response = post("/v1/chat/completions", """
                {"model":"jinja","max_tokens":1,"messages":[{"role":"user","content":"Hello world"}]}""");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("user:[Hello world]\nassistant:", jinja.lastPrompt());
    }

    @Test
    void imageAndAudioPartsAreRefusedByType() throws Exception {
        for (String part : new String[] {"""
                {"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}""", """
                {"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}"""}) {
            String type = JSON.readTree(part).get("type").asText();
            JsonNode error = assertOpenAiError(post("/v1/chat/completions", """
                    {"model":"jinja","messages":[{"role":"user","content":[{"type":"text","text":"see"},%s]}]}"""
                    .formatted(part)), 400);
            assertEquals("messages[0].content[1].type", error.get("param").asText());
            assertTrue(error.get("message").asText().contains("'" + type + "'"), error.toString());
        }
    }

    @Test
    void openAiMessageNamesReachTheTemplate() throws Exception {
        var response = post("/v1/chat/completions", """
                {"model":"jinja","max_tokens":1,"messages":[
                  {"role":"user","name":"ann","content":"Weather?"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
                     "function":{"name":"get_weather","arguments":"{}"}}]},
                  {"role":"tool","tool_call_id":"c1","name":"get_weather","content":"sunny"}]}""");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("user(ann):[Weather?]\nassistant<call get_weather>:[]\ntool(get_weather):[sunny]\nassistant:",
                jinja.lastPrompt());
    }

    @Test
    void toolChoiceNoneLeavesTheToolsOutAndAutoKeepsThem() throws Exception {
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        for (String choice : new String[] {"", ",\"tool_choice\":\"auto\"", ",\"parallel_tool_calls\":true"}) {
            var response = post("/v1/chat/completions",
                    "{\"model\":\"jinja\",\"max_tokens\":1," + messages + "," + TOOLS + choice + "}");
            assertEquals(200, response.statusCode(), response.body());
            assertEquals("user:[hi]\ntools:get_weather\nassistant:", jinja.lastPrompt(), choice);
        }
        var none = post("/v1/chat/completions",
                "{\"model\":\"jinja\",\"max_tokens\":1," + messages + "," + TOOLS + ",\"tool_choice\":\"none\"}");
        assertEquals(200, none.statusCode(), none.body());
        assertEquals("user:[hi]\nassistant:", jinja.lastPrompt());
    }

    @Test
    void toolChoicesOutsideTheFourFormsAreRefused() throws Exception {
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        for (String choice : new String[] {"\"sometimes\"", "5"}) {
            JsonNode error = assertOpenAiError(post("/v1/chat/completions",
                    "{\"model\":\"jinja\"," + messages + "," + TOOLS + ",\"tool_choice\":" + choice + "}"), 400);
            assertEquals("tool_choice", error.get("param").asText());
        }
    }

    @Test
    void ollamaToolNameAndThinkingReachTheTemplate() throws Exception {
        var response = post("/api/chat", """
                {"model":"jinja","stream":false,"options":{"num_predict":1},"messages":[
                  {"role":"user","content":"Weather?"},
                  {"role":"assistant","content":"","thinking":"use the tool",
                   "tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
                  {"role":"tool","tool_name":"get_weather","content":"sunny"}]}""");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("user:[Weather?]\nassistant<think>use the tool</think><call get_weather>:[]\n"
                + "tool(get_weather):[sunny]\nassistant:", jinja.lastPrompt());
    }

    @Test
    void ollamaImagesAreRefused() throws Exception {
        var response = post("/api/chat", """
                {"model":"jinja","stream":false,"messages":[{"role":"user","content":"see","images":["AA=="]}]}""");
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(json(response).get("error").asText().contains("messages[0].images"), response.body());
        var generate = post("/api/generate", """
                {"model":"jinja","stream":false,"prompt":"see","images":["AA=="]}""");
        assertEquals(400, generate.statusCode(), generate.body());
        assertTrue(json(generate).get("error").asText().contains("'images'"), generate.body());
    }

    @Test
    void aModelWithoutATemplateRefusesToolResults() throws Exception {
        jinja.chatTemplate = ChatTemplateFixture.plain();
        JsonNode error = assertOpenAiError(post("/v1/chat/completions", """
                {"model":"jinja","messages":[{"role":"user","content":"Weather?"},
                  {"role":"tool","tool_call_id":"c1","content":"sunny"}]}"""), 400);
        assertEquals("messages", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("tool results"), error.toString());
    }
}
