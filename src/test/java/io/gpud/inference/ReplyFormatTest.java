package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.gpud.inference.ChatTemplate.Conversation;
import io.gpud.inference.ChatTemplate.Message;
import io.gpud.inference.ReplyFormat.ReplyEvent;
import io.gpud.inference.ReplyFormat.ReplyEvent.Content;
import io.gpud.inference.ReplyFormat.ReplyEvent.Thinking;
import io.gpud.inference.ReplyFormat.ReplyEvent.ToolCall;
import io.gpud.model.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reply formats against the real chat templates of Qwen 2.5, Qwen 3, Llama 3.2 and Mistral
 * Nemo (from the reference npm project) and the demo model's own: each template renders a
 * conversation whose assistant turn makes tool calls, and that turn's text, as the model
 * would write it, parses back into the same calls — in one piece and split at every
 * character. Reasoning splits the same way; malformed calls stay content.
 */
class ReplyFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Object WEATHER = plain("""
            {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                            "required": ["city"]}}}""");
    private static final Object TIME = plain("""
            {"type": "function", "function": {"name": "get_time", "description": "The time in a zone",
             "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}}""");
    private static final List<Object> TOOLS = List.of(WEATHER, TIME);
    private static final String PROMPT = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";

    @TempDir
    Path dir;

    /** A call as compared: name and arguments, the id aside. */
    private record Call(String name, JsonNode arguments) {
    }

    // ---- each family's template, its own rendering of a call parsed back

    @Test
    void qwen25CallsAsItsTemplateWritesThemParseBack() throws Exception {
        var template = family("qwen2_5");
        var format = ReplyFormat.of(template);
        assertTrue(format.supportsTools());
        assertFalse(format.supportsThinking());
        var calls = List.of(call("get_weather", "{\"city\": \"Paris\", \"days\": 2}"),
                call("get_time", "{\"zone\": \"Europe/Paris\"}"));
        String reply = assistantTurn(template, "Let me look.", null, calls, "<|im_end|>\n");
        assertTrue(reply.startsWith("Let me look.\n<tool_call>\n{\"name\": \"get_weather\""), reply);
        assertEquals(List.of(new Content("Let me look.\n"), callEvent("get_weather", "{\"city\":\"Paris\",\"days\":2}"),
                callEvent("get_time", "{\"zone\":\"Europe/Paris\"}")), parsedEverySplit(format, true, PROMPT, reply));
    }

    @Test
    void qwen3CallsAfterItsReasoningParseBack() throws Exception {
        var template = family("qwen3");
        var format = ReplyFormat.of(template);
        assertTrue(format.supportsTools());
        assertTrue(format.supportsThinking());
        var calls = List.of(call("get_weather", "{\"city\": \"Lyon\"}"), call("get_time", "{}"));
        String reply = assistantTurn(template, "", "Two questions, two calls.", calls, "<|im_end|>\n");
        assertTrue(reply.startsWith("<think>\nTwo questions, two calls.\n</think>\n\n<tool_call>"), reply);
        assertEquals(List.of(new Thinking("Two questions, two calls."), callEvent("get_weather", "{\"city\":\"Lyon\"}"),
                callEvent("get_time", "{}")), parsedEverySplit(format, true, PROMPT, reply));
        // the thinking switch off: the prompt closes an empty section, the reply is all answer
        String noThinking = template.render(new Conversation(List.of(new Message("user", "hi")), TOOLS,
                Map.of("enable_thinking", false)), true);
        assertTrue(noThinking.endsWith("<think>\n\n</think>\n\n"), noThinking);
        assertEquals(List.of(new Content("Sunny.")), parsedEverySplit(format, true, noThinking, "Sunny."));
    }

    @Test
    void llama32CallAsItsTemplateWritesItParsesBackWithOrWithoutThePythonTag() throws Exception {
        var template = family("llama3_2");
        var format = ReplyFormat.of(template);
        assertTrue(format.supportsTools());
        assertFalse(format.supportsThinking());
        String reply = assistantTurn(template, "", null, List.of(call("get_weather", "{\"city\": \"Oslo\", \"days\": 3}")),
                "<|eot_id|>");
        assertEquals("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\", \"days\": 3}}", reply);
        var expected = List.of(callEvent("get_weather", "{\"city\":\"Oslo\",\"days\":3}"));
        assertEquals(expected, parsedEverySplit(format, true, PROMPT, reply));
        assertEquals(expected, parsedEverySplit(format, true, PROMPT, "<|python_tag|>" + reply));
        assertEquals(List.of(callEvent("get_weather", "{\"city\":\"Oslo\"}"), callEvent("get_time", "{}")),
                parsedEverySplit(format, true, PROMPT,
                        "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}; {\"name\": \"get_time\", \"parameters\": {}}"));
        // an answer in prose is content, and so is JSON that is not a call
        assertEquals(List.of(new Content("It is 3 pm.")), parsedEverySplit(format, true, PROMPT, "It is 3 pm."));
        assertEquals(List.of(new Content("{\"answer\": 42}")), parsedEverySplit(format, true, PROMPT, "{\"answer\": 42}"));
    }

    @Test
    void mistralNemoCallsAsItsTemplateWritesThemParseBackAndTheirIdsRenderAgain() throws Exception {
        var template = family("mistral_nemo");
        var format = ReplyFormat.of(template);
        assertTrue(format.supportsTools());
        assertFalse(format.supportsThinking());
        var calls = List.of(new ChatTemplate.ToolCall("abc123def", "get_weather", plain("{\"city\": \"Rome\"}")),
                new ChatTemplate.ToolCall("xyz789uvw", "get_time", plain("{\"zone\": \"CET\"}")));
        String reply = assistantTurn(template, "", null, calls, "</s>");
        assertTrue(reply.startsWith("[TOOL_CALLS][{\"name\": \"get_weather\""), reply);
        var expected = List.of(callEvent("get_weather", "{\"city\":\"Rome\"}"), callEvent("get_time", "{\"zone\":\"CET\"}"));
        assertEquals(expected, parsedEverySplit(format, true, PROMPT, reply));
        // [TOOL_CALLS] is a control token, which gives no text when gpud decodes a reply
        assertEquals(expected, parsedEverySplit(format, true, PROMPT, reply.substring("[TOOL_CALLS]".length())));
        // the newer syntax, one call after another
        assertEquals(expected, parsedEverySplit(format, true, PROMPT,
                "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Rome\"}[TOOL_CALLS]get_time[ARGS]{\"zone\": \"CET\"}"));

        // the ids given to parsed calls are ones Mistral's template takes back
        var parsed = events(format.parser(true, PROMPT), List.of(reply));
        var sentBack = new ArrayList<ChatTemplate.ToolCall>();
        var messages = new ArrayList<>(List.of(new Message("user", "Weather in Rome?")));
        for (ReplyEvent e : parsed) {
            var c = (ToolCall) e;
            assertTrue(c.id().matches("[a-z0-9]{9}"), c.id());
            sentBack.add(new ChatTemplate.ToolCall(c.id(), c.name(), plain(c.arguments())));
        }
        messages.add(new Message("assistant", "", List.of(), sentBack, null, null));
        for (var c : sentBack) {
            messages.add(new Message("tool", "{\"ok\": true}", List.of(), List.of(), c.id(), null));
        }
        String rendered = template.render(new Conversation(messages, TOOLS, Map.of()), true);
        assertTrue(rendered.contains("\"call_id\": \"" + sentBack.getFirst().id() + "\""), rendered);
    }

    @Test
    void templatesShowingNoToolsSupportNoneAndTheirRepliesAreContent() throws Exception {
        for (String family : List.of("llama3", "gemma3")) {
            var format = ReplyFormat.of(family(family));
            assertFalse(format.supportsTools(), family);
            assertFalse(format.supportsThinking(), family);
            String reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>";
            assertEquals(List.of(new Content(reply)), parsedEverySplit(format, true, PROMPT, reply), family);
            assertThrows(IllegalArgumentException.class, () -> format.forcedToolCall(TOOLS, null));
        }
        var plain = ReplyFormat.of(new PlainChatTemplate());
        assertFalse(plain.supportsTools());
        assertFalse(plain.supportsThinking());
    }

    // ---- the demo model's template

    @Test
    void demoModelServesItsTemplateWhichShowsToolsAndRoundTripsACall() {
        try (LoadedModel model = LlamaLoader.load(DemoModelFixture.write(dir, GgmlType.F32), null, "demo", 0)) {
            demoTemplateRoundTripsACall(model.chatTemplate(), model.tokenizer());
        }
    }

    private static void demoTemplateRoundTripsACall(ChatTemplate template, Tokenizer tokenizer) {
        assertEquals(DemoModel.CHAT_TEMPLATE, template.source());
        var format = ReplyFormat.of(template);
        assertTrue(format.supportsTools());
        assertTrue(format.supportsThinking());

        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                template.render(List.of(new Message("system", "Be brief."), new Message("user", "Hi")), true));
        var calls = List.of(new ChatTemplate.ToolCall("call_1", "get_weather", plain("{\"city\": \"Paris\"}")));
        var roundTrip = new Conversation(List.of(new Message("user", "Weather in Paris?"),
                new Message("assistant", "", List.of(), calls, null, null),
                new Message("tool", "{\"sky\": \"clear\"}", List.of(), List.of(), "call_1", null)), List.of(WEATHER), Map.of());
        String prompt = template.render(roundTrip, true);
        assertEquals("<|im_start|>system\nTools (call one as <tool_call>\n{\"name\": ..., \"arguments\": {...}}\n"
                + "</tool_call>):\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": "
                + "\"The weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": "
                + "\"string\"}, \"days\": {\"type\": \"integer\"}}, \"required\": [\"city\"]}}}<|im_end|>\n"
                + "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                + "</tool_call><|im_end|>\n<|im_start|>tool\n{\"sky\": \"clear\"}<|im_end|>\n<|im_start|>assistant\n", prompt);
        int tokens = tokenizer.encode(prompt, true).length;
        assertTrue(tokens < DemoModel.CONTEXT_LENGTH / 2, "a tool round trip takes " + tokens + " of the demo's tokens");

        String reply = assistantTurn(template, "", null, calls, "<|im_end|>\n");
        assertEquals(List.of(callEvent("get_weather", "{\"city\":\"Paris\"}")),
                parsedEverySplit(format, true, PROMPT, reply));

        // thinking on: the prompt opens the section and the reply starts inside it
        String thinkingPrompt = template.render(new Conversation(List.of(new Message("user", "Hi")), List.of(),
                Map.of("enable_thinking", true)), true);
        assertTrue(thinkingPrompt.endsWith("<|im_start|>assistant\n<think>\n"), thinkingPrompt);
        assertEquals(List.of(new Thinking("Greet back."), new Content("Hello!")),
                parsedEverySplit(format, false, thinkingPrompt, "Greet back.\n</think>\n\nHello!"));
    }

    // ---- reasoning

    @Test
    void reasoningSplitsOffAtTheStartOrWhereThePromptOpenedIt() {
        var format = ReplyFormat.of(ChatTemplateFixture.jinja("{{ '<think>' }}{{ messages[0].content }}"));
        assertFalse(format.supportsTools());
        assertTrue(format.supportsThinking());
        var expected = List.of(new Thinking("Let me see.\nYes."), new Content("It is sunny."));
        assertEquals(expected, parsedEverySplit(format, false, PROMPT, "<think>\nLet me see.\nYes.\n</think>\n\nIt is sunny."));
        assertEquals(expected, parsedEverySplit(format, false, PROMPT, "\n<think>Let me see.\nYes.</think>It is sunny."));
        // DeepSeek-R1 distills: the prompt ends inside <think>
        String opened = "<｜User｜>Weather?<｜Assistant｜><think>\n";
        assertEquals(expected, parsedEverySplit(format, false, opened, "Let me see.\nYes.\n</think>\n\nIt is sunny."));
        // a reply cut off inside its reasoning is all reasoning
        assertEquals(List.of(new Thinking("Let me")), parsedEverySplit(format, false, opened, "Let me  \n"));
        assertEquals(List.of(new Thinking("Hm.")), parsedEverySplit(format, false, PROMPT, "<think>Hm."));
        // <think> anywhere but the start, or a prompt that mentions it before its end, is content
        assertEquals(List.of(new Content("I <think> so.")), parsedEverySplit(format, false, PROMPT, "I <think> so."));
        assertEquals(List.of(new Content("So </think> it.")),
                parsedEverySplit(format, false, "<think> in the user's text<|im_start|>assistant\n", "So </think> it."));
        // a template without <think>: tags are content
        var qwen25 = ReplyFormat.of(ChatTemplateFixture.jinja("{{ '<tool_call>' }}"));
        assertEquals(List.of(new Content("<think>x</think>y")), parsedEverySplit(qwen25, false, PROMPT, "<think>x</think>y"));
    }

    @Test
    void textIsReturnedAsSoonAsItCannotBeATagOrACall() {
        var hermes = ReplyFormat.of(ChatTemplateFixture.jinja("<tool_call> <think>")).parser(true, PROMPT);
        assertEquals(List.of(), hermes.push("\n<thi"));
        assertEquals(List.of(new Thinking("Plan")), hermes.push("nk>Plan"));
        assertEquals(List.of(new Thinking(".")), hermes.push(". \n</th"));
        assertEquals(List.of(new Content("Hello")), hermes.push("ink>Hello"));
        assertEquals(List.of(new Content(" ")), hermes.push(" <tool"));
        assertEquals(List.of(new Content("<toolbox> ")), hermes.push("box> <"));
        assertEquals(List.of(), hermes.push("tool_call>{\"name\": \"f\", \"arguments\": {}}"));
        assertEquals(List.of("f"), names(hermes.push("</tool_call>")));
        assertEquals(List.of(), hermes.finish());
        assertThrows(IllegalStateException.class, () -> hermes.push("more"));

        var llama = ReplyFormat.of(ChatTemplateFixture.jinja("<|start_header_id|> \"parameters\"")).parser(true, PROMPT);
        assertEquals(List.of(), llama.push("  "));
        assertEquals(List.of(new Content("  Sure")), llama.push("Sure"));
        assertEquals(List.of(new Content(", {\"name\": 1}")), llama.push(", {\"name\": 1}"));
    }

    // ---- what is not a call stays content

    @Test
    void malformedCallsAreReturnedAsContentWordForWord() {
        var hermes = ReplyFormat.of(ChatTemplateFixture.jinja("<tool_call>"));
        for (String reply : List.of(
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": }}\n</tool_call>",
                "<tool_call>\n{\"name\": \"get_weather\"}\n</tool_call>",
                "<tool_call>\n{\"tool\": \"get_weather\", \"arguments\": {}}\n</tool_call>",
                "<tool_call>\n{\"name\": \"f\", \"arguments\": {}, \"extra\": 1}\n</tool_call>",
                "<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>",
                "<tool_call>\n{\"name\": \"f\", \"arguments\": \"not json\"}\n</tool_call>",
                "<tool_call>\n{\"name\": \"a\", \"arguments\": {}, \"name\": \"b\"}\n</tool_call>",
                "<tool_call>\n{\"name\": \"\", \"arguments\": {}}\n</tool_call>",
                "<tool_call>\n[{\"name\": \"f\", \"arguments\": {}}]\n</tool_call>",
                "<tool_call>not json</tool_call> and more",
                "Before <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par")) {
            assertEquals(List.of(new Content(reply)), parsedEverySplit(hermes, true, PROMPT, reply), reply);
        }
        var llama = ReplyFormat.of(ChatTemplateFixture.jinja("<|start_header_id|> \"parameters\""));
        for (String reply : List.of("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}",
                "{\"name\": \"x\", \"parameters\": 5}", "{ \"name\" ]", "{}", "{name: \"x\", \"parameters\": {}}",
                "Sure: {\"name\": \"get_weather\", \"parameters\": {}}", "<|python_tag|>print(1)")) {
            assertEquals(List.of(new Content(reply)), parsedEverySplit(llama, true, PROMPT, reply), reply);
        }
        var mistral = ReplyFormat.of(ChatTemplateFixture.jinja("[TOOL_CALLS]"));
        for (String reply : List.of("[1, 2]", "[]", "[TOOL_CALLS][{\"name\": \"f\"}]", "[TOOL_CALLS]not a call",
                "[link](https://example.com)", "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}",
                "[TOOL_CALLS]f[ARGS][1]", "[TOOL_CALLS]f[ARG", "[{\"name\": \"f\", \"arguments\": {}}, 3]")) {
            assertEquals(List.of(new Content(reply)), parsedEverySplit(mistral, true, PROMPT, reply), reply);
        }
    }

    @Test
    void callSyntaxIsContentWhenNoToolsWereOffered() {
        String reply = "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>";
        assertEquals(List.of(new Content(reply)),
                parsedEverySplit(ReplyFormat.of(ChatTemplateFixture.jinja("<tool_call>")), false, PROMPT, reply));
        String llama = "{\"name\": \"f\", \"parameters\": {}}";
        assertEquals(List.of(new Content(llama)), parsedEverySplit(
                ReplyFormat.of(ChatTemplateFixture.jinja("<|start_header_id|> \"parameters\"")), false, PROMPT, llama));
    }

    @Test
    void argumentsComeBackAsCompactJsonWithNumbersAsWritten() {
        var hermes = ReplyFormat.of(ChatTemplateFixture.jinja("<tool_call>"));
        assertEquals(List.of(callEvent("f", "{\"x\":1.50,\"big\":123456789012345678901234567890,\"s\":\"a \\\"b\\\"\\n\"}")),
                parsedEverySplit(hermes, true, PROMPT, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\n  \"x\": 1.50,"
                        + " \"big\": 123456789012345678901234567890, \"s\": \"a \\\"b\\\"\\n\"}}\n</tool_call>"));
        // arguments written as a string of JSON, as the OpenAI API carries them
        assertEquals(List.of(callEvent("f", "{\"a\":1}")), parsedEverySplit(hermes, true, PROMPT,
                "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>"));
        // "parameters" for "arguments", a type and an id the model wrote
        assertEquals(List.of(callEvent("f", "{}")), parsedEverySplit(hermes, true, PROMPT,
                "<tool_call>{\"type\": \"function\", \"id\": \"x\", \"name\": \"f\", \"parameters\": {}}</tool_call>"));
        // a call cut off before its closing tag still counts where its JSON is whole
        assertEquals(List.of(callEvent("f", "{}")), parsedEverySplit(hermes, true, PROMPT,
                "<tool_call>{\"name\": \"f\", \"arguments\": {}}"));
        // a function the request did not offer is still a call, as OpenAI and vLLM pass it on
        var events = events(hermes.parser(true, PROMPT), List.of(
                "<tool_call>{\"name\": \"not_offered\", \"arguments\": {}}</tool_call>\n\nDone."));
        assertEquals("not_offered", ((ToolCall) events.getFirst()).name());
        assertTrue(((ToolCall) events.getFirst()).id().matches("call_[a-z0-9]{24}"));
        assertEquals(new Content("Done."), events.getLast());
    }

    @Test
    void aCallLongerThanTheLimitIsGivenUpAsTextWithoutWaitingForItsEnd() {
        var parser = ReplyFormat.of(ChatTemplateFixture.jinja("<tool_call>")).parser(true, PROMPT);
        String body = "{\"name\": \"f\", \"arguments\": {\"x\": \"" + "a".repeat(ReplyScanner.MAX_CALL_CHARS);
        assertEquals(List.of(new Content("<tool_call>" + body)), parser.push("<tool_call>" + body));
        var llama = ReplyFormat.of(ChatTemplateFixture.jinja("<|start_header_id|> \"parameters\"")).parser(true, PROMPT);
        assertEquals(List.of(new Content(body)), llama.push(body));
    }

    // ---- forced calls

    @Test
    void forcedCallsAreValidSchemasWhoseDocumentsParseBackIntoOneCall() throws Exception {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
        Schema metaSchema = registry.getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        for (String family : List.of("qwen2_5", "qwen3", "llama3_2", "mistral_nemo")) {
            var format = ReplyFormat.of(family(family));
            String key = family.equals("llama3_2") ? "parameters" : "arguments";
            for (String function : new String[] {"get_weather", null}) {
                var forced = format.forcedToolCall(TOOLS, function);
                JsonNode schemaNode = JSON.readTree(forced.schemaJson());
                assertEquals(List.of(), metaSchema.validate(schemaNode), family + ": " + forced.schemaJson());
                Schema schema = registry.getSchema(schemaNode);
                JsonNode document = JSON.readTree("{\"name\": \"get_weather\", \"" + key + "\": {\"city\": \"Paris\"}}");
                assertEquals(List.of(), schema.validate(document), family);
                assertFalse(schema.validate(JSON.readTree("{\"name\": \"get_weather\", \"" + key + "\": {\"days\": 1}}"))
                        .isEmpty(), family + ": a required argument is missing");
                assertEquals(function == null, schema.validate(JSON.readTree("{\"name\": \"get_time\", \"" + key
                        + "\": {}}")).isEmpty(), family + ": get_time is allowed exactly when any tool is");
                assertFalse(schema.validate(JSON.readTree("{\"name\": \"other\", \"" + key + "\": {}}")).isEmpty());

                String reply = forced.prefix() + document + forced.suffix();
                assertEquals(List.of(callEvent("get_weather", "{\"city\":\"Paris\"}")),
                        parsedEverySplit(format, true, PROMPT, reply), family + ": " + reply);
            }
        }
    }

    @Test
    void forcedCallsNameWhatIsWrongWithTheTools() {
        var format = ReplyFormat.of(ChatTemplateFixture.jinja("<tool_call>"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> format.forcedToolCall(TOOLS, "nope"))
                .getMessage().contains("'nope'"));
        assertThrows(IllegalArgumentException.class, () -> format.forcedToolCall(List.of(), null));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> format.forcedToolCall(List.of(WEATHER,
                plain("{\"type\": \"function\", \"function\": {\"description\": \"x\"}}")), null))
                .getMessage().contains("tools[1].function.name"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> format.forcedToolCall(List.of(
                plain("{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": \"array\"}}}")),
                null)).getMessage().contains("tools[0].function.parameters"));
        assertThrows(IllegalArgumentException.class, () -> format.forcedToolCall(List.of("a string"), null));
        // a tool without parameters takes an empty object
        String schema = format.forcedToolCall(List.of(plain("{\"type\": \"function\", \"function\": {\"name\": \"ping\"}}")),
                null).schemaJson();
        assertTrue(schema.contains("\"arguments\":{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}"),
                schema);
    }

    // ---- helpers

    /** A family's real chat template, from its tokenizer_config.json in the reference npm project. */
    private static JinjaChatTemplate family(String family) throws Exception {
        NpmReference.install();
        JsonNode config = JSON.readTree(Files.readString(NpmReference.tokenizerFiles(family).resolve("tokenizer_config.json")));
        return new JinjaChatTemplate(config.path("chat_template").asText(), token(config.path("bos_token")),
                token(config.path("eos_token")));
    }

    private static String token(JsonNode token) {
        return token.isObject() ? token.path("content").asText(null) : token.asText(null);
    }

    /**
     * The text the template writes for an assistant turn with {@code calls}: the conversation
     * rendered with that turn, less the same conversation rendered up to its generation prompt,
     * less the turn's end.
     */
    private static String assistantTurn(ChatTemplate template, String content, String reasoning,
                                        List<ChatTemplate.ToolCall> calls, String endOfTurn) {
        var user = List.of(new Message("user", "Weather and time?"));
        var options = Map.<String, Object>of("date_string", "26 Jul 2024");
        String prompt = template.render(new Conversation(user, TOOLS, options), true);
        var withTurn = new ArrayList<>(user);
        withTurn.add(new Message("assistant", content, List.of(), calls, null, reasoning));
        String whole = template.render(new Conversation(withTurn, TOOLS, options), false);
        assertTrue(whole.startsWith(prompt) && whole.endsWith(endOfTurn), whole);
        return whole.substring(prompt.length(), whole.length() - endOfTurn.length());
    }

    private static ChatTemplate.ToolCall call(String name, String arguments) {
        return new ChatTemplate.ToolCall(null, name, plain(arguments));
    }

    /** A parsed call as {@link #normalized} writes it: the id left out. */
    private static ToolCall callEvent(String name, String arguments) {
        return new ToolCall("", name, arguments);
    }

    /**
     * The reply's events pushed in one piece, then split at every character boundary into two
     * pushes, then one character at a time: all the same once joined, which is returned.
     */
    private static List<ReplyEvent> parsedEverySplit(ReplyFormat format, boolean tools, String prompt, String reply) {
        var whole = normalized(events(format.parser(tools, prompt), List.of(reply)));
        for (int i = 1; i < reply.length(); i++) {
            assertEquals(whole, normalized(events(format.parser(tools, prompt),
                    List.of(reply.substring(0, i), reply.substring(i)))), "split at " + i + ": " + reply);
        }
        var characters = new ArrayList<String>();
        reply.codePoints().forEach(c -> characters.add(Character.toString(c)));
        assertEquals(whole, normalized(events(format.parser(tools, prompt), characters)), "one character at a time");
        return whole;
    }

    private static List<ReplyEvent> events(ReplyFormat.ReplyParser parser, List<String> pieces) {
        var events = new ArrayList<ReplyEvent>();
        pieces.forEach(p -> events.addAll(parser.push(p)));
        events.addAll(parser.finish());
        return events;
    }

    /** Adjacent text of one kind joined, and ids checked then left out. */
    private static List<ReplyEvent> normalized(List<ReplyEvent> events) {
        var out = new ArrayList<ReplyEvent>();
        for (ReplyEvent e : events) {
            ReplyEvent last = out.isEmpty() ? null : out.getLast();
            switch (e) {
                case Content c when last instanceof Content l -> out.set(out.size() - 1, new Content(l.text() + c.text()));
                case Thinking t when last instanceof Thinking l -> out.set(out.size() - 1, new Thinking(l.text() + t.text()));
                case ToolCall c -> {
                    assertTrue(c.id().matches("call_[a-z0-9]{24}|[a-z0-9]{9}"), c.id());
                    assertInstanceOf(com.fasterxml.jackson.databind.node.ObjectNode.class, read(c.arguments()));
                    out.add(new ToolCall("", c.name(), c.arguments()));
                }
                default -> out.add(e);
            }
        }
        return out;
    }

    private static List<String> names(List<ReplyEvent> events) {
        return events.stream().map(e -> ((ToolCall) e).name()).toList();
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError(json, e);
        }
    }

    private static Object plain(String json) {
        return JSON.convertValue(read(json), Object.class);
    }
}
