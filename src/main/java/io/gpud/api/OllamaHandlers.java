package io.gpud.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonRawValue;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.Time;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.ReplyFormat;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Ollama's generation routes, as the {@code ollama} client libraries and Open WebUI call
 * them: {@code POST /api/generate}, {@code /api/chat}, {@code /api/embed} and the legacy
 * {@code /api/embeddings}. Generation streams NDJSON by default, one object per batch of
 * tokens, the last with {@code done: true} and the timings in nanoseconds.
 *
 * <p>{@code /api/generate} renders the prompt (after {@code system}, when given) as a user
 * turn through the model's chat template, as Ollama does; with {@code raw: true} the prompt
 * is continued as is. An empty prompt (or an empty
 * {@code messages}) only loads the model ({@code done_reason: "load"}), or, with
 * {@code keep_alive: 0}, unloads it ({@code done_reason: "unload"}).
 *
 * <p>{@code keep_alive} applies once the request is admitted, so a request with
 * {@code keep_alive: 0} runs to its end and then frees the model. {@code tools} and
 * {@code think} pass through the model's chat template, and its reply is split by
 * {@link ReplyFormat}'s parser into {@code content}, {@code thinking} and {@code tool_calls}.
 */
final class OllamaHandlers {


    static final Set<String> GENERATE_FIELDS = Set.of("model", "prompt", "suffix", "system", "template", "context",
            "stream", "raw", "format", "keep_alive", "images", "think", "options");
    static final Set<String> CHAT_FIELDS = Set.of("model", "messages", "tools", "format", "options", "stream",
            "keep_alive", "think", "template");
    static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "images", "tool_calls", "tool_name",
            "thinking");
    static final Set<String> EMBED_FIELDS = Set.of("model", "input", "truncate", "dimensions", "keep_alive",
            "options");
    static final Set<String> EMBEDDINGS_FIELDS = Set.of("model", "prompt", "keep_alive", "options");

    /**
     * Ollama's message fields: content as a string, {@code tool_name} on tool messages (the
     * template's {@code name}) and {@code thinking} on assistant messages (the template's
     * {@code reasoning_content}, which thinking models' templates show or drop as their
     * own tooling does). {@code images} are refused: the models served read text only.
     */
    private static final Fields.MessageDialect MESSAGES = new Fields.MessageDialect((m, param) -> {
        refuseImages(m, param + ".images");
        return Fields.Content.of(Fields.string(m, param + ".content", "content").orElse(""));
    }, "tool_name", "thinking");

    private final ModelCatalog catalog;
    private final Generations generations;
    private final OllamaModels models;
    private final Embeddings embeddings;
    private final Time time;

    OllamaHandlers(ModelCatalog catalog, Generations generations, Embeddings embeddings, OllamaModels models,
                   Time time) {
        this.catalog = catalog;
        this.generations = generations;
        this.embeddings = embeddings;
        this.models = models;
        this.time = time;
    }

    /** A tool call as Ollama writes it: the arguments as an object. */
    record ToolCall(Function function) {
    }

    /** {@code arguments}: the parser's compact JSON text of an object, written as that object. */
    record Function(String name, @JsonRawValue String arguments) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Message(String role, String content, String thinking, List<ToolCall> toolCalls) {
    }

    /** One object of a generate stream, or the whole answer; the timings only on the last. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record GenerateReply(String model, String createdAt, String response, String thinking, boolean done,
                         String doneReason, Long totalDuration, Long loadDuration, Integer promptEvalCount,
                         Long promptEvalDuration, Integer evalCount, Long evalDuration) {
    }

    /** One object of a chat stream, or the whole answer; the timings only on the last. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatReply(String model, String createdAt, Message message, boolean done, String doneReason,
                     Long totalDuration, Long loadDuration, Integer promptEvalCount, Long promptEvalDuration,
                     Integer evalCount, Long evalDuration) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record EmbedReply(String model, List<float[]> embeddings, Long totalDuration, Long loadDuration,
                      Integer promptEvalCount) {
    }

    record EmbeddingReply(float[] embedding) {
    }

    /** Part of a reply: its text, reasoning and tool calls, from the parser's events or plain text. */
    private static final class Part {
        final StringBuilder content = new StringBuilder();
        final StringBuilder thinking = new StringBuilder();
        final List<ToolCall> calls = new ArrayList<>();

        void add(ReplyFormat.ReplyEvent event) {
            switch (event) {
                case ReplyFormat.ReplyEvent.Content c -> content.append(c.text());
                case ReplyFormat.ReplyEvent.Thinking t -> thinking.append(t.text());
                case ReplyFormat.ReplyEvent.ToolCall call -> calls.add(new ToolCall(new Function(call.name(),
                        call.arguments())));
            }
        }

        void addAll(Part other) {
            content.append(other.content);
            thinking.append(other.thinking);
            calls.addAll(other.calls);
        }

        boolean isEmpty() {
            return content.isEmpty() && thinking.isEmpty() && calls.isEmpty();
        }

        String thinkingOrNull() {
            return thinking.isEmpty() ? null : thinking.toString();
        }

        Message message() {
            return new Message("assistant", content.toString(), thinkingOrNull(), calls.isEmpty() ? null : calls);
        }
    }

    /** Turns generated text into reply parts: through the model's reply parser, or as plain text. */
    private record Splitter(ReplyFormat.ReplyParser parser) {
        Part push(String text) {
            var part = new Part();
            if (parser == null) {
                part.content.append(text);
            } else {
                parser.push(text).forEach(part::add);
            }
            return part;
        }

        Part finish() {
            var part = new Part();
            if (parser != null) {
                parser.finish().forEach(part::add);
            }
            return part;
        }
    }

    /** The final counts and timings (nanoseconds). */
    private record Stats(String doneReason, long total, int promptCount, long promptNanos, int evalCount,
                         long evalNanos) {
        static Stats of(Completion c, long totalNanos) {
            return new Stats(Generations.finishReason(c), totalNanos, c.promptTokens(),
                    c.promptNanos(), c.completionTokens(), c.decodeNanos());
        }

        GenerateReply generate(String model, String createdAt, String response, String thinking) {
            return new GenerateReply(model, createdAt, response, thinking, true, doneReason, total, 0L, promptCount,
                    promptNanos, evalCount, evalNanos);
        }

        ChatReply chat(String model, String createdAt, Message message) {
            return new ChatReply(model, createdAt, message, true, doneReason, total, 0L, promptCount, promptNanos,
                    evalCount, evalNanos);
        }
    }

    /** A generation request as read: its parameters, the engine, and what shapes the reply. */
    private record Request(Engine engine, Generations.Params params, int contextLimit, Optional<Duration> keepAlive,
                           ReplyFormat format, boolean toolsOffered) {
    }

    /**
     * A generation route's body as read: the engine, and the generation asked for, or null
     * when the body only loads or unloads the model ({@code keep_alive}).
     */
    private record Ask(Engine engine, boolean stream, Request request) {
    }

    /** The generation a {@code /api/generate} body asks for, as {@link #generate} reads it; null for none. */
    Generations.Params generateParams(ObjectNode body) {
        Request r = generateAsk(body, null).request();
        return r == null ? null : r.params();
    }

    private Ask generateAsk(ObjectNode body, long[] prefixNames) {
        Fields.refuseUnknown(body, "", GENERATE_FIELDS);
        refuse(body, "suffix", "fill-in-the-middle is not supported by the models served");
        refuse(body, "template", "the model's own chat template is used; send 'raw': true with a prompt you "
                + "rendered yourself instead");
        refuse(body, "context", "it is deprecated; send the conversation to /api/chat instead");
        refuseImages(body, "images");
        String model = Fields.requiredString(body, "model");
        String prompt = Fields.string(body, "prompt").orElse("");
        var system = Fields.string(body, "system");
        boolean raw = Fields.bool(body, "raw").orElse(false);
        Optional<Boolean> think = OllamaRequests.think(body);
        boolean stream = Fields.bool(body, "stream").orElse(true);
        if (raw && (system.isPresent() || think.isPresent())) {
            throw ApiException.invalid(system.isPresent() ? "system" : "think", "'" + (system.isPresent() ? "system"
                    : "think") + "' needs the chat template, which 'raw': true leaves out");
        }
        Engine engine = generations.engine(model);
        if (prompt.isEmpty() && system.isEmpty()) {
            return new Ask(engine, stream, null);
        }
        Generations.Prompt text;
        if (!raw) {
            var messages = new ArrayList<ChatTemplate.Message>();
            system.ifPresent(s -> messages.add(new ChatTemplate.Message("system", s)));
            messages.add(new ChatTemplate.Message("user", prompt));
            text = new Generations.Prompt.Chat(new ChatTemplate.Conversation(messages, List.of(), Map.of()));
        } else {
            text = new Generations.Prompt.Text(prompt);
        }
        return new Ask(engine, stream, request(body, engine, model, text, "prompt", think, prefixNames));
    }

    void generate(ServerRequest req, ServerResponse res, ObjectNode body, long[] prefixNames) throws Exception {
        long start = time.nanos();
        Ask ask = generateAsk(body, prefixNames);
        Engine engine = ask.engine();
        String name = engine.info().name();
        boolean stream = ask.stream();
        if (ask.request() == null) {
            Fields.object(body, "options").ifPresent(o -> OllamaRequests.options(body));
            boolean unload = keepAliveOnly(body, engine);
            Responses.json(res, 200, new GenerateReply(name, models.now(), "", null, true, unload ? "unload" : "load",
                    null, null, null, null, null, null));
            return;
        }
        Request request = ask.request();
        Generations.Started started = generations.start(request.params(), start, engine, request.contextLimit());
        request.keepAlive().ifPresent(k -> catalog.residency().keepAlive(engine.info().name(), k));
        var split = splitter(request, started);
        if (!stream) {
            var all = new Part();
            Completion c = generations.drive(started, t -> all.addAll(split.push(t)));
            all.addAll(split.finish());
            Responses.json(res, 200, Stats.of(c, time.nanos() - start).generate(name, models.now(),
                    all.content.toString(), all.thinkingOrNull()));
            return;
        }
        var out = Responses.Stream.ndjson(res);
        Generations.stream(started, out, Errors.Dialect.OLLAMA, () -> {
            Completion c = generations.drive(started, t -> sendGenerate(out, name, split.push(t)));
            if (c != null) {
                sendGenerate(out, name, split.finish());
                out.send(Stats.of(c, time.nanos() - start).generate(name, models.now(), "", null));
            }
        });
    }

    private void sendGenerate(Responses.Stream out, String name, Part part) throws java.io.IOException {
        if (!part.isEmpty()) {
            out.send(new GenerateReply(name, models.now(), part.content.toString(), part.thinkingOrNull(), false,
                    null, null, null, null, null, null, null));
        }
    }

    /** The generation an {@code /api/chat} body asks for, as {@link #chat} reads it; null for none. */
    Generations.Params chatParams(ObjectNode body) {
        Request r = chatAsk(body, null).request();
        return r == null ? null : r.params();
    }

    private Ask chatAsk(ObjectNode body, long[] prefixNames) {
        Fields.refuseUnknown(body, "", CHAT_FIELDS);
        refuse(body, "template", "the model's own chat template is used");
        String model = Fields.requiredString(body, "model");
        boolean stream = Fields.bool(body, "stream").orElse(true);
        Optional<Boolean> think = OllamaRequests.think(body);
        Engine engine = generations.engine(model);
        JsonNode messages = Fields.get(body, "messages").orElse(null);
        if (messages == null || messages.isArray() && messages.isEmpty()) {
            return new Ask(engine, stream, null);
        }
        if (messages.isArray()) {
            for (int i = 0; i < messages.size(); i++) {
                if (messages.get(i) instanceof ObjectNode m) {
                    Fields.refuseUnknown(m, "messages[" + i + "].", MESSAGE_FIELDS);
                }
            }
        }
        ChatTemplate.Conversation conversation = Fields.conversation(body, MESSAGES);
        return new Ask(engine, stream, request(body, engine, model, new Generations.Prompt.Chat(conversation),
                "messages", think, prefixNames));
    }

    void chat(ServerRequest req, ServerResponse res, ObjectNode body, long[] prefixNames) throws Exception {
        long start = time.nanos();
        Ask ask = chatAsk(body, prefixNames);
        Engine engine = ask.engine();
        String name = engine.info().name();
        boolean stream = ask.stream();
        if (ask.request() == null) {
            Fields.object(body, "options").ifPresent(o -> OllamaRequests.options(body));
            boolean unload = keepAliveOnly(body, engine);
            Responses.json(res, 200, new ChatReply(name, models.now(), new Message("assistant", "", null, null), true,
                    unload ? "unload" : "load", null, null, null, null, null, null));
            return;
        }
        Request request = ask.request();
        Generations.Started started = generations.start(request.params(), start, engine, request.contextLimit());
        request.keepAlive().ifPresent(k -> catalog.residency().keepAlive(engine.info().name(), k));
        var split = splitter(request, started);
        if (!stream) {
            var all = new Part();
            Completion c = generations.drive(started, t -> all.addAll(split.push(t)));
            all.addAll(split.finish());
            Responses.json(res, 200, Stats.of(c, time.nanos() - start).chat(name, models.now(), all.message()));
            return;
        }
        var out = Responses.Stream.ndjson(res);
        Generations.stream(started, out, Errors.Dialect.OLLAMA, () -> {
            Completion c = generations.drive(started, t -> sendChat(out, name, split.push(t)));
            if (c != null) {
                sendChat(out, name, split.finish());
                out.send(Stats.of(c, time.nanos() - start).chat(name, models.now(),
                        new Message("assistant", "", null, null)));
            }
        });
    }

    private void sendChat(Responses.Stream out, String name, Part part) throws java.io.IOException {
        if (!part.isEmpty()) {
            out.send(new ChatReply(name, models.now(), part.message(), false, null, null, null, null, null, null,
                    null));
        }
    }

    /**
     * A request with nothing to generate: reads its {@code keep_alive} and applies it; true
     * when that unloads the model (zero).
     */
    private boolean keepAliveOnly(ObjectNode body, Engine engine) {
        OllamaRequests.format(body);
        Optional<Duration> keepAlive = OllamaRequests.keepAlive(body);
        keepAlive.ifPresent(k -> catalog.residency().keepAlive(engine.info().name(), k));
        return keepAlive.isPresent() && keepAlive.get().isZero();
    }

    /** Reads what the two generation routes share, and checks {@code tools} and {@code think} against the model. */
    private Request request(ObjectNode body, Engine engine, String model, Generations.Prompt prompt,
                            String promptParam, Optional<Boolean> think, long[] prefixNames) {
        OllamaRequests.Options options = OllamaRequests.options(body);
        int context = engine.info().contextLength();
        if (options.numCtx() > context) {
            throw ApiException.invalid("options.num_ctx", "'options.num_ctx' was " + options.numCtx() + ", the model's "
                    + "context is " + context + " tokens");
        }
        Optional<Duration> keepAlive = OllamaRequests.keepAlive(body);
        Generations.Constrain constrain = OllamaRequests.format(body);
        boolean toolsOffered = prompt instanceof Generations.Prompt.Chat chat && !chat.conversation().tools().isEmpty();
        ReplyFormat format = null;
        if (toolsOffered || think.isPresent()) {
            format = ReplyFormat.of(engine.chatTemplate());
            if (toolsOffered && !format.supportsTools()) {
                throw ApiException.invalid("tools", "'tools': the model " + model + " does not support tools (its "
                        + "chat template has no tool section)");
            }
            if (think.orElse(false) && !format.supportsThinking()) {
                throw ApiException.invalid("think", "'think': the model " + model + " does not support thinking");
            }
        }
        if (think.isPresent() && prompt instanceof Generations.Prompt.Chat chat) {
            var kwargs = new LinkedHashMap<>(chat.conversation().options());
            kwargs.put("enable_thinking", think.get());
            prompt = new Generations.Prompt.Chat(new ChatTemplate.Conversation(chat.conversation().messages(),
                    chat.conversation().tools(), kwargs));
        }
        var params = new Generations.Params(model, prompt, promptParam, options.maxTokens(), options.sampling(),
                options.stop(), options.penalties(), -1, constrain, prefixNames);
        return new Request(engine, params, options.numCtx() > 0 ? options.numCtx() : Integer.MAX_VALUE, keepAlive,
                format, toolsOffered);
    }

    private static Splitter splitter(Request request, Generations.Started started) {
        return new Splitter(request.format() == null ? null
                : request.format().parser(request.toolsOffered(), started.promptText()));
    }

    /**
     * {@code POST /api/embed}: {@code input} (a string or an array of strings, at most
     * {@link Embeddings#MAX_INPUTS}), each embedded (mean-pooled, normalised) by
     * {@link Embeddings}; {@code truncate} (default true) cuts an input to the context, false
     * refuses it. No input only loads the model, as Ollama's.
     */
    void embed(ServerRequest req, ServerResponse res, ObjectNode body) {
        long start = time.nanos();
        Fields.refuseUnknown(body, "", EMBED_FIELDS);
        refuse(body, "dimensions", "the embedding has the model's width; shortening it is not supported");
        String model = Fields.requiredString(body, "model");
        int numCtx = embedOptions(body);
        boolean truncate = Fields.bool(body, "truncate").orElse(true);
        Optional<Duration> keepAlive = OllamaRequests.keepAlive(body);
        var inputs = new ArrayList<Embeddings.Input>();
        JsonNode input = Fields.get(body, "input").orElse(null);
        if (input != null && input.isTextual()) {
            inputs.add(new Embeddings.Input.Text(input.textValue()));
        } else if (input != null && input.isArray()) {
            for (int i = 0; i < input.size(); i++) {
                if (!input.get(i).isTextual()) {
                    throw Fields.wrongType("input[" + i + "]", "a string", input.get(i));
                }
                inputs.add(new Embeddings.Input.Text(input.get(i).textValue()));
            }
        } else if (input != null) {
            throw Fields.wrongType("input", "a string or an array of strings", input);
        }
        if (inputs.isEmpty()) {
            Engine engine = generations.engine(model);
            keepAlive.ifPresent(k -> catalog.residency().keepAlive(engine.info().name(), k));
            Responses.json(res, 200, new EmbedReply(engine.info().name(), List.of(), time.nanos() - start, 0L, 0));
            return;
        }
        Embeddings.Embedded embedded = embeddings.embed(embeddings.prepare(model, inputs,
                new Embeddings.Shape("input", numCtx > 0 ? numCtx : Integer.MAX_VALUE, truncate, true)));
        keepAlive.ifPresent(k -> catalog.residency().keepAlive(embedded.model(), k));
        Responses.json(res, 200, new EmbedReply(embedded.model(), embedded.vectors(), time.nanos() - start, 0L,
                embedded.promptTokens()));
    }

    /** {@code POST /api/embeddings} (legacy): {@code prompt} → {@code embedding}, not normalised, as Ollama's. */
    void embeddings(ServerRequest req, ServerResponse res, ObjectNode body) {
        Fields.refuseUnknown(body, "", EMBEDDINGS_FIELDS);
        String model = Fields.requiredString(body, "model");
        int numCtx = embedOptions(body);
        Optional<Duration> keepAlive = OllamaRequests.keepAlive(body);
        String prompt = Fields.string(body, "prompt").orElse("");
        if (prompt.isEmpty()) {
            Engine engine = generations.engine(model);
            keepAlive.ifPresent(k -> catalog.residency().keepAlive(engine.info().name(), k));
            Responses.json(res, 200, new EmbeddingReply(new float[0]));
            return;
        }
        Embeddings.Embedded embedded = embeddings.embed(embeddings.prepare(model,
                List.of(new Embeddings.Input.Text(prompt)),
                new Embeddings.Shape("prompt", numCtx > 0 ? numCtx : Integer.MAX_VALUE, false, false)));
        keepAlive.ifPresent(k -> catalog.residency().keepAlive(embedded.model(), k));
        Responses.json(res, 200, new EmbeddingReply(embedded.vectors().getFirst()));
    }

    /** The embedding routes' {@code options}: num_ctx and the host hints; the sampling options mean nothing here. */
    private static int embedOptions(ObjectNode body) {
        ObjectNode options = Fields.object(body, "options").orElseGet(body::objectNode);
        var known = new HashSet<>(OllamaRequests.HOST_HINTS);
        known.add("num_ctx");
        Fields.refuseUnknown(options, "options.", known);
        int numCtx = Fields.integer(options, "num_ctx").orElse(0);
        if (numCtx < 0) {
            throw ApiException.invalid("options.num_ctx", "'options.num_ctx' was " + numCtx + ", must be positive");
        }
        return numCtx;
    }

    /** 400 naming {@code field} when the request carries it (anything but null, false or empty). */
    private static void refuse(ObjectNode body, String field, String why) {
        Fields.get(body, field).ifPresent(v -> {
            boolean empty = v.isBoolean() && !v.booleanValue() || v.isTextual() && v.textValue().isEmpty()
                    || v.isContainerNode() && v.isEmpty();
            if (!empty) {
                throw ApiException.invalid(field, "'" + field + "' is not supported: " + why);
            }
        });
    }

    private static void refuseImages(ObjectNode object, String param) {
        Fields.get(object, "images").ifPresent(images -> {
            if (!images.isArray() || !images.isEmpty()) {
                throw ApiException.invalid(param, "'" + param + "' is not supported: the model reads text only");
            }
        });
    }
}
