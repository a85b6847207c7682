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
import io.gpud.inference.ReplyFormat;
import io.gpud.inference.Sampling;
import io.gpud.inference.TokenLogprobs;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The OpenAI-compatible routes: {@code GET /v1/models}, {@code GET /v1/models/{id}},
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}, whole or streamed as
 * server-sent events. What a request may carry is read by {@link OpenAiRequests}; a chat
 * reply is split into content, reasoning and tool calls by {@link ChatReplies}; several
 * choices ({@code n}) are {@link Choices}, streamed one after another, each with its index.
 */
final class OpenAiHandlers {

    /** OpenAI's message fields: content as a string or text parts, {@code name}, {@code reasoning_content}. */
    private static final Fields.MessageDialect MESSAGES =
            new Fields.MessageDialect(OpenAiHandlers::message, "name", "reasoning_content");

    /** The fields {@code /v1/embeddings} honours. */
    private static final Set<String> EMBEDDING = Set.of("model", "input", "encoding_format", "dimensions", "user");

    private final ModelCatalog catalog;
    private final Generations generations;
    private final Embeddings embeddings;
    private final Time time;

    OpenAiHandlers(ModelCatalog catalog, Generations generations, Embeddings embeddings, Time time) {
        this.catalog = catalog;
        this.generations = generations;
        this.embeddings = embeddings;
        this.time = time;
    }

    record ModelList(String object, List<ModelEntry> data) {
    }

    record ModelEntry(String id, String object, long created, String ownedBy, String version) {
        static ModelEntry of(Engine engine, ModelCatalog catalog) {
            var i = engine.info();
            return new ModelEntry(i.name(), "model", i.createdEpochSeconds(), "gpud", catalog.version(i.name()));
        }
    }

    /**
     * Token counts; with several choices the prompt counts once and the completions add up,
     * as OpenAI counts. The cached prompt tokens are those of the first choice.
     */
    record Usage(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {
        static Usage of(List<Completion> completions) {
            int prompt = completions.getFirst().promptTokens();
            int completion = completions.stream().mapToInt(Completion::completionTokens).sum();
            return new Usage(prompt, completion, prompt + completion,
                    new PromptTokensDetails(completions.getFirst().cachedTokens()));
        }
    }

    /** @param cachedTokens prompt tokens whose keys and values the engine's prefix cache held */
    record PromptTokensDetails(int cachedTokens) {
    }

    record TextChoice(int index, String text, String finishReason, Logprobs.Text logprobs) {
    }

    record TextCompletion(String id, String object, long created, String model, List<TextChoice> choices,
                          Usage usage) {
    }

    /** A function a tool call names, with its arguments as JSON text. */
    record FunctionCall(String name, String arguments) {
    }

    record ToolCall(String id, String type, FunctionCall function) {
        static ToolCall of(ReplyFormat.ReplyEvent.ToolCall call) {
            return new ToolCall(call.id(), "function", new FunctionCall(call.name(), call.arguments()));
        }
    }

    /** A streamed tool call: the whole call in one delta, at its index among the reply's calls. */
    record ToolCallDelta(int index, String id, String type, FunctionCall function) {
    }

    /** The reply: {@code content} is null when the reply is tool calls alone, as OpenAI sends it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Message(String role, @JsonInclude(JsonInclude.Include.ALWAYS) String content, String reasoningContent,
                   List<ToolCall> toolCalls) {
    }

    record ChatChoice(int index, Message message, String finishReason, Logprobs.Chat logprobs) {
    }

    record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices,
                          Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(String role, String content, String reasoningContent, List<ToolCallDelta> toolCalls) {
        static final Delta EMPTY = new Delta(null, null, null, null);
    }

    record ChunkChoice(int index, Delta delta, String finishReason, Logprobs.Chat logprobs) {
    }

    record ChatChunk(String id, String object, long created, String model, List<ChunkChoice> choices) {
    }

    record TextChunk(String id, String object, long created, String model, List<TextChoice> choices) {
    }

    /** One vector: a list of floats, or with {@code encoding_format: base64} their little-endian float32 bytes. */
    record Embedding(String object, int index, Object embedding) {
    }

    record EmbeddingUsage(int promptTokens, int totalTokens) {
    }

    record EmbeddingList(String object, List<Embedding> data, String model, EmbeddingUsage usage) {
    }

    /**
     * A chat request, read and checked.
     *
     * @param params       the first choice's generation
     * @param n            choices
     * @param seeded       whether the request named a seed
     * @param stream       answer as server-sent events
     * @param includeUsage a streamed answer ends with the usage
     * @param tools        how the model may call tools
     * @param user         the end user named, or null
     */
    private record ChatRequest(Generations.Params params, int n, boolean seeded, boolean stream,
                               boolean includeUsage, OpenAiRequests.Tools tools, String user) {
        /** The same request, with its keys and values its own (a secure-envelope request). */
        ChatRequest isolate() {
            return new ChatRequest(params.isolate(), n, seeded, stream, includeUsage, tools, user);
        }
    }

    /**
     * A text completion request, read and checked.
     *
     * @param echo whether each choice's text begins with the prompt
     */
    private record TextRequest(Generations.Params params, int n, boolean seeded, boolean stream,
                               boolean includeUsage, boolean echo, String user) {
        /** The same request, with its keys and values its own (a secure-envelope request). */
        TextRequest isolate() {
            return new TextRequest(params.isolate(), n, seeded, stream, includeUsage, echo, user);
        }
    }

    void models(ServerRequest req, ServerResponse res) {
        List<ModelEntry> data = catalog.engines().stream().map(e -> ModelEntry.of(e, catalog)).toList();
        Responses.json(res, 200, new ModelList("list", data));
    }

    /** {@code GET /v1/models/{id}}: one served model, or 404 naming it. */
    void model(ServerRequest req, ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        Responses.json(res, 200, ModelEntry.of(generations.engine(id), catalog));
    }

    /**
     * {@code POST /v1/embeddings}: {@code input} as a string, an array of strings, an array
     * of token ids or an array of such arrays; {@code encoding_format} {@code float} or
     * {@code base64}; {@code dimensions} only as the model's own width, which is all it has.
     */
    void embeddings(ServerRequest req, ServerResponse res, ObjectNode body) {
        OpenAiRequests.refuseUnsupported(body, "", EMBEDDING);
        String user = OpenAiRequests.endUser(body);
        String model = Fields.requiredString(body, "model");
        List<Embeddings.Input> inputs = embeddingInputs(body);
        String format = Fields.string(body, "encoding_format").orElse("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiException.invalid("encoding_format", "'encoding_format' was '" + format
                    + "', must be float or base64");
        }
        var dimensions = Fields.positive(body, "dimensions");
        Embeddings.Batch batch = embeddings.prepare(model, inputs,
                new Embeddings.Shape("input", Integer.MAX_VALUE, false, true));
        int known = batch.engine().info().embeddingLength();
        if (known > 0) {
            checkDimensions(dimensions, known, batch.engine().info().name());
        }
        Embeddings.Embedded embedded = embeddings.embed(batch);
        checkDimensions(dimensions, embedded.vectors().getFirst().length, embedded.model());
        if (user != null) {
            Choices.logEndUser("embeddings of " + inputs.size() + " inputs", user);
        }
        var data = new ArrayList<Embedding>(inputs.size());
        for (int i = 0; i < embedded.vectors().size(); i++) {
            float[] v = embedded.vectors().get(i);
            data.add(new Embedding("embedding", i, format.equals("float") ? v : base64(v)));
        }
        Responses.json(res, 200, new EmbeddingList("list", data, embedded.model(),
                new EmbeddingUsage(embedded.promptTokens(), embedded.promptTokens())));
    }

    /** 400 naming {@code dimensions} when it asks for another width than the model's. */
    private static void checkDimensions(OptionalInt dimensions, int width, String model) {
        if (dimensions.isPresent() && dimensions.getAsInt() != width) {
            throw ApiException.invalid("dimensions", "'dimensions' was " + dimensions.getAsInt() + "; the model '"
                    + model + "' embeds in " + width + " dimensions only");
        }
    }

    private static String base64(float[] vector) {
        var bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : vector) {
            bytes.putFloat(f);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    private static List<Embeddings.Input> embeddingInputs(ObjectNode body) {
        JsonNode input = Fields.get(body, "input")
                .orElseThrow(() -> ApiException.invalid("input", "'input' is required"));
        if (input.isTextual()) {
            return List.of(text(input, "input"));
        }
        if (!input.isArray()) {
            throw Fields.wrongType("input", "a string or an array", input);
        }
        if (!input.isEmpty() && input.get(0).isNumber()) {
            return List.of(new Embeddings.Input.TokenIds(tokenIds(input, "input")));
        }
        var inputs = new ArrayList<Embeddings.Input>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            if (item.isTextual()) {
                inputs.add(text(item, input.size() == 1 ? "input" : "input[" + i + "]"));
            } else if (item.isArray()) {
                inputs.add(new Embeddings.Input.TokenIds(tokenIds(item, "input[" + i + "]")));
            } else {
                throw Fields.wrongType("input[" + i + "]", "a string or an array of token ids", item);
            }
        }
        return inputs;
    }

    /** A text input; an empty one is refused, as OpenAI does. */
    private static Embeddings.Input text(JsonNode text, String param) {
        if (text.textValue().isEmpty()) {
            throw ApiException.invalid(param, "'" + param + "' is an empty string; there is nothing to embed");
        }
        return new Embeddings.Input.Text(text.textValue());
    }

    /** An array of token ids (integers). */
    private static int[] tokenIds(JsonNode array, String param) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw Fields.wrongType(param + "[" + i + "]", "a token id (integer)", id);
            }
            ids[i] = id.intValue();
        }
        return ids;
    }

    void completions(ServerRequest req, ServerResponse res, ObjectNode body, long[] prefixNames) {
        long start = time.nanos();
        TextRequest r = textRequest(body, prefixNames);
        if (!r.stream()) {
            Responses.json(res, 200, textCompletion(r, start));
            return;
        }
        try (Choices choices = Choices.start(generations, r.params(), r.n(), r.seeded(), start, r.user())) {
            String id = Ids.random("cmpl-", 24);
            long created = time.instant().getEpochSecond();
            String model = choices.model();
            var out = Responses.Stream.sse(res);
            Generations.stream(choices.get(0), out, Errors.Dialect.OPENAI, () -> {
                var completions = new ArrayList<Completion>();
                for (int i = 0; i < choices.size(); i++) {
                    int index = i;
                    Generations.Started started = choices.get(i);
                    String echo = r.echo() ? promptText(r.params(), started) : "";
                    if (!echo.isEmpty()) {
                        out.send(new TextChunk(id, "text_completion", created, model,
                                List.of(new TextChoice(index, echo, null, null))));
                    }
                    int[] offset = {echo.length()};
                    Completion c = generations.drive(started, (text, logprobs) -> out.send(new TextChunk(id,
                            "text_completion", created, model, List.of(new TextChoice(index, text, null,
                                    textLogprobs(r.params(), started, logprobs, offset))))));
                    if (c == null) {
                        return;
                    }
                    choices.finished(i);
                    completions.add(c);
                    out.send(new TextChunk(id, "text_completion", created, model,
                            List.of(new TextChoice(index, "", Generations.finishReason(c), null))));
                }
                if (r.includeUsage()) {
                    out.send(new TextCompletion(id, "text_completion", created, model, List.of(),
                            Usage.of(completions)));
                }
                out.sendRaw("[DONE]");
            });
        }
    }

    void chatCompletions(ServerRequest req, ServerResponse res, ObjectNode body, long[] prefixNames) {
        long start = time.nanos();
        ChatRequest r = chatRequest(body, prefixNames);
        if (!r.stream()) {
            Responses.json(res, 200, chatCompletion(r, start));
            return;
        }
        try (Choices choices = Choices.start(generations, r.params(), r.n(), r.seeded(), start, r.user())) {
            String id = Ids.random("chatcmpl-", 24);
            long created = time.instant().getEpochSecond();
            String model = choices.model();
            var out = Responses.Stream.sse(res);
            Generations.stream(choices.get(0), out, Errors.Dialect.OPENAI, () -> {
                var completions = new ArrayList<Completion>();
                for (int i = 0; i < choices.size(); i++) {
                    int index = i;
                    Generations.Started started = choices.get(i);
                    out.send(chunk(id, created, model, index, new Delta("assistant", "", null, null), null, null));
                    var calls = new int[1];
                    ChatReplies.Ended ended = ChatReplies.drive(generations, started, r.tools(), (events, logprobs) -> {
                        Delta delta = delta(events, calls);
                        Logprobs.Chat chatLogprobs = logprobs.isEmpty() ? null
                                : chatLogprobs(r.params(), started, logprobs);
                        if (delta != null || chatLogprobs != null) {
                            out.send(chunk(id, created, model, index, delta == null ? Delta.EMPTY : delta, null,
                                    chatLogprobs));
                        }
                    });
                    if (ended == null) {
                        return;
                    }
                    choices.finished(i);
                    completions.add(ended.completion());
                    out.send(chunk(id, created, model, index, Delta.EMPTY, ended.finishReason(), null));
                }
                if (r.includeUsage()) {
                    out.send(new ChatCompletion(id, "chat.completion.chunk", created, model, List.of(),
                            Usage.of(completions)));
                }
                out.sendRaw("[DONE]");
            });
        }
    }

    /** One piece of a reply as a delta, or null when it holds nothing; {@code calls} counts the tool calls sent. */
    private static Delta delta(List<ReplyFormat.ReplyEvent> events, int[] calls) {
        var content = new StringBuilder();
        var reasoning = new StringBuilder();
        var toolCalls = new ArrayList<ToolCallDelta>();
        for (ReplyFormat.ReplyEvent e : events) {
            switch (e) {
                case ReplyFormat.ReplyEvent.Content t -> content.append(t.text());
                case ReplyFormat.ReplyEvent.Thinking t -> reasoning.append(t.text());
                case ReplyFormat.ReplyEvent.ToolCall call -> toolCalls.add(new ToolCallDelta(calls[0]++, call.id(),
                        "function", new FunctionCall(call.name(), call.arguments())));
            }
        }
        if (content.isEmpty() && reasoning.isEmpty() && toolCalls.isEmpty()) {
            return null;
        }
        return new Delta(null, content.isEmpty() ? null : content.toString(),
                reasoning.isEmpty() ? null : reasoning.toString(), toolCalls.isEmpty() ? null : toolCalls);
    }

    private static ChatChunk chunk(String id, long created, String model, int index, Delta delta, String finishReason,
                                   Logprobs.Chat logprobs) {
        return new ChatChunk(id, "chat.completion.chunk", created, model,
                List.of(new ChunkChoice(index, delta, finishReason, logprobs)));
    }

    /**
     * The whole, non-streamed answer to an already parsed request body: what the secure
     * routes run on the decrypted payload, exactly as the plain routes would, except that
     * its keys and values stay its own: it neither reuses a cached prefix nor leaves one
     * behind, and its KV memory is zeroed when it ends ({@link Generations.Params#isolated}).
     *
     * @param chat true for a chat completion, false for a text completion
     */
    Object completeWhole(ObjectNode body, boolean chat, long start) {
        if (Fields.bool(body, "stream").orElse(false)) {
            throw ApiException.invalid("stream", "'stream' is not available on the secure routes; "
                    + "the response is sealed whole");
        }
        return chat ? chatCompletion(chatRequest(body).isolate(), start)
                : textCompletion(textRequest(body).isolate(), start);
    }

    private TextCompletion textCompletion(TextRequest r, long start) {
        try (Choices choices = Choices.start(generations, r.params(), r.n(), r.seeded(), start, r.user())) {
            var out = new ArrayList<TextChoice>(choices.size());
            var completions = new ArrayList<Completion>(choices.size());
            for (int i = 0; i < choices.size(); i++) {
                Generations.Started started = choices.get(i);
                var text = new StringBuilder(r.echo() ? promptText(r.params(), started) : "");
                var logprobs = new ArrayList<TokenLogprobs>();
                Completion c = generations.drive(started, (t, l) -> {
                    text.append(t);
                    logprobs.addAll(l);
                });
                choices.finished(i);
                completions.add(c);
                int[] offset = {r.echo() ? promptText(r.params(), started).length() : 0};
                out.add(new TextChoice(i, text.toString(), Generations.finishReason(c),
                        textLogprobs(r.params(), started, logprobs, offset)));
            }
            return new TextCompletion(Ids.random("cmpl-", 24), "text_completion", time.instant().getEpochSecond(),
                    choices.model(), out, Usage.of(completions));
        }
    }

    private ChatCompletion chatCompletion(ChatRequest r, long start) {
        try (Choices choices = Choices.start(generations, r.params(), r.n(), r.seeded(), start, r.user())) {
            var out = new ArrayList<ChatChoice>(choices.size());
            var completions = new ArrayList<Completion>(choices.size());
            for (int i = 0; i < choices.size(); i++) {
                Generations.Started started = choices.get(i);
                var reply = new ChatReplies.Gathered();
                ChatReplies.Ended ended = ChatReplies.drive(generations, started, r.tools(), reply);
                choices.finished(i);
                completions.add(ended.completion());
                List<ToolCall> calls = reply.toolCalls.stream().map(ToolCall::of).toList();
                String content = calls.isEmpty() || !reply.content.isEmpty() ? reply.content.toString() : null;
                var message = new Message("assistant", content,
                        reply.reasoning.isEmpty() ? null : reply.reasoning.toString(), calls.isEmpty() ? null : calls);
                out.add(new ChatChoice(i, message, ended.finishReason(),
                        chatLogprobs(r.params(), started, reply.logprobs)));
            }
            return new ChatCompletion(Ids.random("chatcmpl-", 24), "chat.completion", time.instant().getEpochSecond(),
                    choices.model(), out, Usage.of(completions));
        }
    }

    /** The chat shape of the log-probabilities, when the request asked for them. */
    private static Logprobs.Chat chatLogprobs(Generations.Params params, Generations.Started started,
                                              List<TokenLogprobs> logprobs) {
        return params.topLogprobs() < 0 ? null : Logprobs.chat(logprobs, started.engine().tokenizer());
    }

    /** The text-completion shape of the log-probabilities, when the request asked for them. */
    private static Logprobs.Text textLogprobs(Generations.Params params, Generations.Started started,
                                              List<TokenLogprobs> logprobs, int[] offset) {
        return params.topLogprobs() < 0 ? null : Logprobs.text(logprobs, started.engine().tokenizer(), offset);
    }

    /** The prompt as text, for {@code echo}. */
    private static String promptText(Generations.Params params, Generations.Started started) {
        return switch (params.prompt()) {
            case Generations.Prompt.Text t -> t.text();
            case Generations.Prompt.TokenIds t -> started.engine().tokenizer().decode(t.ids());
            case Generations.Prompt.Chat c -> started.promptText();
        };
    }

    /** The generation a {@code /v1/completions} body asks for, as {@link #completions} reads it. */
    Generations.Params completionParams(ObjectNode body) {
        return textRequest(body, null).params();
    }

    /** The generation a {@code /v1/chat/completions} body asks for, as {@link #chatCompletions} reads it. */
    Generations.Params chatParams(ObjectNode body) {
        return chatRequest(body, null).params();
    }

    private TextRequest textRequest(ObjectNode body) {
        return textRequest(body, null);
    }

    private TextRequest textRequest(ObjectNode body, long[] prefixNames) {
        OpenAiRequests.refuseUnsupported(body, "", OpenAiRequests.COMPLETION);
        String user = OpenAiRequests.endUser(body);
        String model = Fields.requiredString(body, "model");
        Generations.Prompt prompt = completionPrompt(body);
        int n = OpenAiRequests.choices(body);
        Fields.positive(body, "best_of").ifPresent(bestOf -> {
            if (bestOf != n) {
                throw ApiException.invalid("best_of", "'best_of' was " + bestOf + " with 'n' " + n + "; choosing "
                        + "the best of more candidates than are returned is not supported: send best_of equal to n");
            }
        });
        boolean echo = Fields.bool(body, "echo").orElse(false);
        int topLogprobs = OpenAiRequests.completionLogprobs(body);
        if (echo && topLogprobs >= 0) {
            throw ApiException.invalid("echo", "'echo' with 'logprobs' would need the prompt's log-probabilities, "
                    + "which are not computed; drop one of them");
        }
        var params = new Generations.Params(model, prompt, "prompt", OpenAiRequests.maxTokens(body),
                OpenAiRequests.sampling(body, ThreadLocalRandom.current().nextLong()), Fields.stop(body, "stop"),
                OpenAiRequests.penalties(body), topLogprobs, null, prefixNames);
        return new TextRequest(params, n, OpenAiRequests.seeded(body), Fields.bool(body, "stream").orElse(false),
                OpenAiRequests.includeUsage(body), echo, user);
    }

    private ChatRequest chatRequest(ObjectNode body) {
        return chatRequest(body, null);
    }

    private ChatRequest chatRequest(ObjectNode body, long[] prefixNames) {
        OpenAiRequests.refuseUnsupported(body, "", OpenAiRequests.CHAT);
        String user = OpenAiRequests.endUser(body);
        String model = Fields.requiredString(body, "model");
        ChatTemplate.Conversation conversation = Fields.conversation(body, MESSAGES);
        OpenAiRequests.Tools tools = OpenAiRequests.tools(body, conversation.tools());
        int n = OpenAiRequests.choices(body);
        Generations.Constrain format = Fields.object(body, "response_format")
                .map(f -> OpenAiRequests.responseFormat(f, "response_format", "max_tokens")).orElse(null);
        if (format != null && tools.offered()) {
            throw ApiException.invalid("response_format", "'response_format' cannot hold a reply that may also be "
                    + "a tool call; send 'tool_choice': 'none' to answer in the format, or leave 'response_format' out");
        }
        String effort = OpenAiRequests.reasoningEffort(body, "reasoning_effort");
        int maxTokens = OpenAiRequests.maxTokens(body);
        Sampling sampling = OpenAiRequests.sampling(body, ThreadLocalRandom.current().nextLong());
        List<String> stop = Fields.stop(body, "stop");
        var penalties = OpenAiRequests.penalties(body);
        int topLogprobs = OpenAiRequests.chatLogprobs(body);
        boolean stream = Fields.bool(body, "stream").orElse(false);
        boolean includeUsage = OpenAiRequests.includeUsage(body);
        conversation = withModel(conversation, tools, effort, model);
        var params = new Generations.Params(model, new Generations.Prompt.Chat(conversation), "messages", maxTokens,
                sampling, stop, penalties, topLogprobs, format != null ? format : tools.constraint("max_tokens"),
                prefixNames);
        return new ChatRequest(params, n, OpenAiRequests.seeded(body), stream, includeUsage, tools, user);
    }

    /**
     * The conversation as the model will see it: without tools unless they are offered (a
     * model whose template cannot show them is refused), with {@code reasoning_effort}.
     */
    private ChatTemplate.Conversation withModel(ChatTemplate.Conversation conversation, OpenAiRequests.Tools tools,
                                                String effort, String model) {
        if (!tools.offered() && !conversation.tools().isEmpty()) {
            conversation = new ChatTemplate.Conversation(conversation.messages(), List.of(), conversation.options());
        }
        if (!tools.offered() && effort == null) {
            return conversation;
        }
        Engine engine = generations.engine(model);
        ReplyFormat format = ReplyFormat.of(engine.chatTemplate());
        if (tools.offered() && !format.supportsTools()) {
            throw ApiException.invalid("tools", "the model '" + model + "' has no tool calling in its chat template, "
                    + "so its replies cannot carry tool calls; leave 'tools' out or send 'tool_choice': 'none'");
        }
        return OpenAiRequests.withReasoningEffort(conversation, effort, "reasoning_effort", format, model);
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
        return new Generations.Prompt.TokenIds(tokenIds(prompt, "prompt"));
    }

    /**
     * {@code content}: a string, or an array of text parts ({@code [{type: "text", text}]}),
     * which reach the template as parts; a part of any other type (an image, audio, a file)
     * is refused, naming its type.
     */
    private static Fields.Content message(ObjectNode message, String param) {
        OpenAiRequests.refuseUnsupported(message, param + ".", OpenAiRequests.MESSAGE);
        Fields.string(message, param + ".refusal", "refusal").ifPresent(refusal -> {
            throw ApiException.invalid(param + ".refusal", "'" + param + ".refusal' is not shown to the model; "
                    + "send the refusal as the message's content");
        });
        return content(message, param);
    }

    /**
     * {@code content}: a string, or an array of text parts ({@code [{type: "text", text}]}),
     * which reach the template as parts; a part of any other type (an image, audio, a file)
     * is refused, naming its type.
     */
    static Fields.Content content(ObjectNode message, String param) {
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
            if (type.equals("text")) {
                Fields.refuseUnknown(part, partParam + ".", Set.of("type", "text"));
            } else {
                throw ApiException.invalid(partParam + ".type", "content part type '" + type
                        + "' is not supported; only 'text' is");
            }
            parts.add(Fields.string(part, partParam + ".text", "text").orElseThrow(() ->
                    ApiException.invalid(partParam + ".text", "'" + partParam + ".text' is required")));
        }
        return new Fields.Content(String.join("", parts), parts);
    }
}
