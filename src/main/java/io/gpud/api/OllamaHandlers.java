package io.gpud.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.Time;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.Sampling;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The Ollama-compatible routes, enough for the {@code ollama} client library and Open
 * WebUI: {@code GET /api/tags}, {@code GET /api/version}, {@code POST /api/generate} and
 * {@code POST /api/chat}. Generation streams NDJSON by default, one object per batch of
 * tokens, the last with {@code done: true} and the timings in nanoseconds.
 *
 * <p>{@code /api/generate} continues the prompt text as is; with a {@code system} field
 * the two are rendered as a conversation through the model's chat template. An empty
 * prompt only checks that the model is loaded ({@code done_reason: "load"}).
 */
final class OllamaHandlers {

    /** The Ollama release whose API these routes follow; clients read it to pick features. */
    static final String OLLAMA_API_VERSION = "0.6.0";

    /** Ollama's sampling defaults, used when a request's {@code options} leave them out. */
    private static final double DEFAULT_TEMPERATURE = 0.8;
    private static final double DEFAULT_TOP_P = 0.9;
    private static final int DEFAULT_TOP_K = 40;

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
    private final Time time;

    OllamaHandlers(ModelCatalog catalog, Generations generations, Time time) {
        this.catalog = catalog;
        this.generations = generations;
        this.time = time;
    }

    record Version(String version) {
    }

    record Tags(List<Tag> models) {
    }

    record Tag(String name, String model, String modifiedAt, long size, String digest, Details details) {
    }

    record Details(String parentModel, String format, String family, List<String> families,
                   String parameterSize, String quantizationLevel) {
    }

    record Message(String role, String content) {
    }

    /** One object of a generate stream, or the whole answer; the timings only on the last. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record GenerateReply(String model, String createdAt, String response, boolean done, String doneReason,
                         Long totalDuration, Long loadDuration, Integer promptEvalCount, Long promptEvalDuration,
                         Integer evalCount, Long evalDuration) {
    }

    /** One object of a chat stream, or the whole answer; the timings only on the last. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatReply(String model, String createdAt, Message message, boolean done, String doneReason,
                     Long totalDuration, Long loadDuration, Integer promptEvalCount, Long promptEvalDuration,
                     Integer evalCount, Long evalDuration) {
    }

    /** The final counts and timings (nanoseconds). */
    private record Stats(String doneReason, long total, int promptCount, long promptNanos, int evalCount,
                         long evalNanos) {
        static Stats of(Completion c, long totalNanos) {
            return new Stats(Generations.finishReason(c), totalNanos, c.promptTokens(),
                    c.promptNanos(), c.completionTokens(), c.decodeNanos());
        }

        GenerateReply generate(String model, String createdAt, String response) {
            return new GenerateReply(model, createdAt, response, true, doneReason, total, 0L, promptCount,
                    promptNanos, evalCount, evalNanos);
        }

        ChatReply chat(String model, String createdAt, String content) {
            return new ChatReply(model, createdAt, new Message("assistant", content), true, doneReason, total, 0L,
                    promptCount, promptNanos, evalCount, evalNanos);
        }
    }

    void version(ServerRequest req, ServerResponse res) {
        Responses.json(res, 200, new Version(OLLAMA_API_VERSION));
    }

    void tags(ServerRequest req, ServerResponse res) {
        List<Tag> tags = catalog.engines().stream().map(Engine::info).map(OllamaHandlers::tag).toList();
        Responses.json(res, 200, new Tags(tags));
    }

    private static Tag tag(ModelInfo i) {
        var details = new Details("", i.format(), i.architecture(), List.of(i.architecture()),
                parameterSize(i.parameters()), i.weightType());
        return new Tag(i.name(), i.name(), Instant.ofEpochSecond(i.createdEpochSeconds()).toString(), i.sizeBytes(),
                digest(i), details);
    }

    /** 15000000 → "15M", 7240000000 → "7.2B", as Ollama prints sizes. */
    static String parameterSize(long parameters) {
        String[] units = {"", "K", "M", "B", "T"};
        double v = parameters;
        int u = 0;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        String number = v >= 10 || v == Math.rint(v)
                ? Long.toString(Math.round(v))
                : String.format(Locale.ROOT, "%.1f", v);
        return number + units[u];
    }

    private static String digest(ModelInfo i) {
        try {
            byte[] id = (i.name() + ":" + i.sizeBytes() + ":" + i.createdEpochSeconds()).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(id));
        } catch (NoSuchAlgorithmException e) {
            throw ApiException.internal("SHA-256 is not available", e);
        }
    }

    void generate(ServerRequest req, ServerResponse res, ObjectNode body) {
        long start = time.nanos();
        String model = Fields.requiredString(body, "model");
        String prompt = Fields.string(body, "prompt").orElse("");
        refuseImages(body, "images");
        var system = Fields.string(body, "system");
        boolean stream = Fields.bool(body, "stream").orElse(true);
        Generations.Params params;
        if (system.isPresent()) {
            params = params(body, model, new Generations.Prompt.Chat(ChatTemplate.Conversation.of(List.of(
                    new ChatTemplate.Message("system", system.get()),
                    new ChatTemplate.Message("user", prompt)))), "prompt");
        } else if (prompt.isEmpty()) {
            String name = generations.engine(model).info().name();
            Responses.json(res, 200, new GenerateReply(name, now(), "", true, "load",
                    null, null, null, null, null, null));
            return;
        } else {
            params = params(body, model, new Generations.Prompt.Text(prompt), "prompt");
        }
        Generations.Started started = generations.start(params, start);
        String name = started.model();
        if (!stream) {
            var text = new StringBuilder();
            Completion c = generations.drive(started, text::append);
            Responses.json(res, 200, Stats.of(c, time.nanos() - start).generate(name, now(), text.toString()));
            return;
        }
        var out = Responses.Stream.ndjson(res);
        Generations.stream(started, out, Errors.Dialect.OLLAMA, () -> {
            Completion c = generations.drive(started, t -> out.send(new GenerateReply(name, now(), t, false,
                    null, null, null, null, null, null, null)));
            if (c != null) {
                out.send(Stats.of(c, time.nanos() - start).generate(name, now(), ""));
            }
        });
    }

    void chat(ServerRequest req, ServerResponse res, ObjectNode body) {
        long start = time.nanos();
        String model = Fields.requiredString(body, "model");
        boolean stream = Fields.bool(body, "stream").orElse(true);
        Generations.Started started = generations.start(
                params(body, model, new Generations.Prompt.Chat(Fields.conversation(body, MESSAGES)), "messages"), start);
        String name = started.model();
        if (!stream) {
            var text = new StringBuilder();
            Completion c = generations.drive(started, text::append);
            Responses.json(res, 200, Stats.of(c, time.nanos() - start).chat(name, now(), text.toString()));
            return;
        }
        var out = Responses.Stream.ndjson(res);
        Generations.stream(started, out, Errors.Dialect.OLLAMA, () -> {
            Completion c = generations.drive(started, t -> out.send(new ChatReply(name, now(),
                    new Message("assistant", t), false, null, null, null, null, null, null, null)));
            if (c != null) {
                out.send(Stats.of(c, time.nanos() - start).chat(name, now(), ""));
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

    private String now() {
        return time.instant().toString();
    }

    /** Reads {@code options}: temperature, top_p, top_k, seed, num_predict (negative: fill the context), stop. */
    private static Generations.Params params(ObjectNode body, String model, Generations.Prompt prompt,
                                             String promptParam) {
        ObjectNode options = Fields.object(body, "options").orElseGet(() -> body.objectNode());
        float temperature = (float) Fields.temperature(options, "temperature").orElse(DEFAULT_TEMPERATURE);
        float topP = (float) Fields.topP(options, "top_p").orElse(DEFAULT_TOP_P);
        int topK = Fields.integer(options, "top_k").orElse(DEFAULT_TOP_K);
        if (topK < 0) {
            throw ApiException.invalid("top_k", "'top_k' was " + topK + ", must be >= 0");
        }
        long seed = Fields.longValue(options, "seed").orElseGet(() -> ThreadLocalRandom.current().nextLong());
        OptionalInt numPredict = Fields.integer(options, "num_predict");
        int maxTokens = Generations.DEFAULT_MAX_TOKENS;
        if (numPredict.isPresent()) {
            if (numPredict.getAsInt() == 0) {
                throw ApiException.invalid("num_predict", "'num_predict' was 0; use a positive count, or -1 to fill the context");
            }
            maxTokens = numPredict.getAsInt() < 0 ? Generations.FILL_CONTEXT : numPredict.getAsInt();
        }
        List<String> stop = Fields.stop(options, "stop");
        return new Generations.Params(model, prompt, promptParam, maxTokens,
                new Sampling(temperature, topP, topK, seed), stop);
    }
}
