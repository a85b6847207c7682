package io.gpud.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.Ids;
import io.gpud.core.Time;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.Sampling;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The OpenAI-compatible routes: {@code GET /v1/models}, {@code POST /v1/completions} and
 * {@code POST /v1/chat/completions}, whole or streamed as server-sent events.
 */
final class OpenAiHandlers {

    /** OpenAI's message fields: content as a string or text parts, {@code name}, {@code reasoning_content}. */
    private static final Fields.MessageDialect MESSAGES =
            new Fields.MessageDialect(OpenAiHandlers::content, "name", "reasoning_content");

    private final ModelCatalog catalog;
    private final Generations generations;
    private final Time time;

    OpenAiHandlers(ModelCatalog catalog, Generations generations, Time time) {
        this.catalog = catalog;
        this.generations = generations;
        this.time = time;
    }

    record ModelList(String object, List<ModelEntry> data) {
    }

    record ModelEntry(String id, String object, long created, String ownedBy, String version) {
    }

    record Usage(int promptTokens, int completionTokens, int totalTokens) {
        static Usage of(Completion c) {
            return new Usage(c.promptTokens(), c.completionTokens(), c.promptTokens() + c.completionTokens());
        }
    }

    record TextChoice(int index, String text, String finishReason, Object logprobs) {
    }

    record TextCompletion(String id, String object, long created, String model, List<TextChoice> choices,
                          Usage usage) {
    }

    record Message(String role, String content) {
    }

    record ChatChoice(int index, Message message, String finishReason, Object logprobs) {
    }

    record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices,
                          Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(String role, String content) {
    }

    record ChunkChoice(int index, Delta delta, String finishReason, Object logprobs) {
    }

    record ChatChunk(String id, String object, long created, String model, List<ChunkChoice> choices) {
    }

    record TextChunk(String id, String object, long created, String model, List<TextChoice> choices) {
    }

    /** What the two generation routes share besides the prompt. */
    private record Options(Generations.Params params, boolean stream, boolean includeUsage) {
    }

    void models(ServerRequest req, ServerResponse res) {
        List<ModelEntry> data = catalog.engines().stream()
                .map(Engine::info)
                .map(i -> new ModelEntry(i.name(), "model", i.createdEpochSeconds(), "gpud", catalog.version(i.name())))
                .toList();
        Responses.json(res, 200, new ModelList("list", data));
    }

    void completions(ServerRequest req, ServerResponse res, ObjectNode body) {
        long start = time.nanos();
        Options options = completionOptions(body);
        if (!options.stream()) {
            Responses.json(res, 200, textCompletion(options, start));
            return;
        }
        Generations.Started started = generations.start(options.params(), start);
        String id = Ids.random("cmpl-", 24);
        long created = time.instant().getEpochSecond();
        String model = started.model();
        var out = Responses.Stream.sse(res);
        Generations.stream(started, out, Errors.Dialect.OPENAI, () -> {
            Completion c = generations.drive(started, t -> out.send(new TextChunk(id, "text_completion",
                    created, model, List.of(new TextChoice(0, t, null, null)))));
            if (c == null) {
                return;
            }
            out.send(new TextChunk(id, "text_completion", created, model,
                    List.of(new TextChoice(0, "", Generations.finishReason(c), null))));
            if (options.includeUsage()) {
                out.send(new TextCompletion(id, "text_completion", created, model, List.of(), Usage.of(c)));
            }
            out.sendRaw("[DONE]");
        });
    }

    void chatCompletions(ServerRequest req, ServerResponse res, ObjectNode body) {
        long start = time.nanos();
        Options options = chatOptions(body);
        if (!options.stream()) {
            Responses.json(res, 200, chatCompletion(options, start));
            return;
        }
        Generations.Started started = generations.start(options.params(), start);
        String id = Ids.random("chatcmpl-", 24);
        long created = time.instant().getEpochSecond();
        String model = started.model();
        var out = Responses.Stream.sse(res);
        Generations.stream(started, out, Errors.Dialect.OPENAI, () -> {
            out.send(chunk(id, created, model, new Delta("assistant", ""), null));
            Completion c = generations.drive(started, t -> out.send(chunk(id, created, model,
                    new Delta(null, t), null)));
            if (c == null) {
                return;
            }
            out.send(chunk(id, created, model, new Delta(null, null), Generations.finishReason(c)));
            if (options.includeUsage()) {
                out.send(new ChatCompletion(id, "chat.completion.chunk", created, model, List.of(),
                        Usage.of(c)));
            }
            out.sendRaw("[DONE]");
        });
    }

    private static ChatChunk chunk(String id, long created, String model, Delta delta, String finishReason) {
        return new ChatChunk(id, "chat.completion.chunk", created, model,
                List.of(new ChunkChoice(0, delta, finishReason, null)));
    }

    /**
     * The whole, non-streamed answer to an already parsed request body: what the secure
     * routes run on the decrypted payload, exactly as the plain routes would.
     *
     * @param chat true for a chat completion, false for a text completion
     */
    Object completeWhole(ObjectNode body, boolean chat, long start) {
        Options options = chat ? chatOptions(body) : completionOptions(body);
        if (options.stream()) {
            throw ApiException.invalid("stream", "'stream' is not available on the secure routes; "
                    + "the response is sealed whole");
        }
        return chat ? chatCompletion(options, start) : textCompletion(options, start);
    }

    private TextCompletion textCompletion(Options options, long start) {
        Generations.Started started = generations.start(options.params(), start);
        var text = new StringBuilder();
        Completion c = generations.drive(started, text::append);
        return new TextCompletion(Ids.random("cmpl-", 24), "text_completion", time.instant().getEpochSecond(),
                started.model(), List.of(new TextChoice(0, text.toString(), Generations.finishReason(c), null)),
                Usage.of(c));
    }

    private ChatCompletion chatCompletion(Options options, long start) {
        Generations.Started started = generations.start(options.params(), start);
        var text = new StringBuilder();
        Completion c = generations.drive(started, text::append);
        return new ChatCompletion(Ids.random("chatcmpl-", 24), "chat.completion", time.instant().getEpochSecond(),
                started.model(), List.of(new ChatChoice(0, new Message("assistant", text.toString()),
                        Generations.finishReason(c), null)), Usage.of(c));
    }

    private Options completionOptions(ObjectNode body) {
        return options(body, completionPrompt(body), "prompt");
    }

    private Options chatOptions(ObjectNode body) {
        return options(body, new Generations.Prompt.Chat(conversation(body)), "messages");
    }

    /**
     * The conversation with the tools {@code tool_choice} lets the model see: {@code auto}
     * (the default) offers them, {@code none} leaves them out of the prompt. Choices that
     * oblige the model to call a tool ({@code required}, a named function) and
     * {@code parallel_tool_calls: false} are refused: replies carry the model's text, not
     * tool calls parsed out of it, so the server could not hold the model to them.
     */
    private static ChatTemplate.Conversation conversation(ObjectNode body) {
        ChatTemplate.Conversation conversation = Fields.conversation(body, MESSAGES);
        if (!Fields.bool(body, "parallel_tool_calls").orElse(true)) {
            throw ApiException.invalid("parallel_tool_calls", "'parallel_tool_calls': false is not supported yet: "
                    + "tool calls are not parsed out of the model's reply, so their number cannot be limited");
        }
        JsonNode choice = Fields.get(body, "tool_choice").orElse(null);
        if (choice == null) {
            return conversation;
        }
        if (choice.isObject()) {
            throw ApiException.invalid("tool_choice", "'tool_choice' naming a function is not supported yet: "
                    + "tool calls are not parsed out of the model's reply; use 'auto' or 'none'");
        }
        if (!choice.isTextual()) {
            throw Fields.wrongType("tool_choice", "a string or an object", choice);
        }
        return switch (choice.textValue()) {
            case "auto" -> conversation;
            case "none" -> new ChatTemplate.Conversation(conversation.messages(), List.of(), conversation.options());
            case "required" -> throw ApiException.invalid("tool_choice", "'tool_choice': 'required' is not supported "
                    + "yet: tool calls are not parsed out of the model's reply; use 'auto' or 'none'");
            default -> throw ApiException.invalid("tool_choice", "'tool_choice' was '" + choice.textValue()
                    + "', must be none, auto, required or an object naming a function");
        };
    }

    private Options options(ObjectNode body, Generations.Prompt prompt, String promptParam) {
        String model = Fields.requiredString(body, "model");
        int n = Fields.integer(body, "n").orElse(1);
        if (n != 1) {
            throw ApiException.invalid("n", "'n' was " + n + "; only 1 choice per request is supported");
        }
        int maxTokens = Fields.positive(body, "max_completion_tokens")
                .orElse(Fields.positive(body, "max_tokens").orElse(Generations.DEFAULT_MAX_TOKENS));
        float temperature = (float) Fields.temperature(body, "temperature").orElse(1.0);
        float topP = (float) Fields.topP(body, "top_p").orElse(1.0);
        long seed = Fields.longValue(body, "seed").orElseGet(() -> ThreadLocalRandom.current().nextLong());
        List<String> stop = Fields.stop(body, "stop");
        boolean stream = Fields.bool(body, "stream").orElse(false);
        boolean includeUsage = Fields.object(body, "stream_options")
                .flatMap(o -> Fields.bool(o, "include_usage"))
                .orElse(false);
        var params = new Generations.Params(model, prompt, promptParam, maxTokens,
                new Sampling(temperature, topP, 0, seed), stop);
        return new Options(params, stream, includeUsage);
    }

    /** {@code prompt}: a string, an array holding one string, or an array of token ids. */
    private static Generations.Prompt completionPrompt(ObjectNode body) {
        JsonNode prompt = Fields.get(body, "prompt")
                .orElseThrow(() -> ApiException.invalid("prompt", "'prompt' is required"));
        if (prompt.isTextual()) {
            return new Generations.Prompt.Text(prompt.textValue());
        }
        if (!prompt.isArray()) {
            throw Fields.wrongType("prompt", "a string or an array", prompt);
        }
        if (prompt.isEmpty()) {
            throw ApiException.invalid("prompt", "'prompt' is an empty array");
        }
        if (prompt.get(0).isTextual()) {
            if (prompt.size() != 1) {
                throw ApiException.invalid("prompt", "'prompt' has " + prompt.size()
                        + " strings; only one prompt per request is supported");
            }
            return new Generations.Prompt.Text(prompt.get(0).textValue());
        }
        int[] ids = new int[prompt.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = prompt.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw Fields.wrongType("prompt[" + i + "]", "a token id (integer)", id);
            }
            ids[i] = id.intValue();
        }
        return new Generations.Prompt.TokenIds(ids);
    }

    /**
     * {@code content}: a string, or an array of text parts ({@code [{type: "text", text}]}),
     * which reach the template as parts; a part of any other type (an image, audio, a file)
     * is refused, naming its type.
     */
    private static Fields.Content content(ObjectNode message, String param) {
        JsonNode content = Fields.get(message, "content").orElse(null);
        if (content == null) {
            return Fields.Content.of("");
        }
        if (content.isTextual()) {
            return Fields.Content.of(content.textValue());
        }
        if (!content.isArray()) {
            throw Fields.wrongType(param + ".content", "a string or an array of content parts", content);
        }
        var parts = new ArrayList<String>(content.size());
        for (int i = 0; i < content.size(); i++) {
            String partParam = param + ".content[" + i + "]";
            if (!(content.get(i) instanceof ObjectNode part)) {
                throw Fields.wrongType(partParam, "an object", content.get(i));
            }
            String type = Fields.string(part, partParam + ".type", "type").orElse("");
            if (!type.equals("text")) {
                throw ApiException.invalid(partParam + ".type", "content part type '" + type
                        + "' is not supported; only 'text' is");
            }
            parts.add(Fields.string(part, partParam + ".text", "text").orElseThrow(() ->
                    ApiException.invalid(partParam + ".text", "'" + partParam + ".text' is required")));
        }
        return new Fields.Content(String.join("", parts), parts);
    }
}
