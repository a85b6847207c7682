package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.grammar.SchemaException;
import io.gpud.grammar.StructuredOutput;
import io.gpud.inference.Penalties;
import io.gpud.inference.Sampling;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the Ollama routes read a request's shared fields: {@code options}, {@code keep_alive},
 * {@code format} and {@code think}. Every field is honoured or refused with a 400 naming it;
 * README's Ollama table lists them.
 */
final class OllamaRequests {

    /** Ollama's sampling defaults, used when a request's {@code options} leave them out. */
    static final double DEFAULT_TEMPERATURE = 0.8;
    static final double DEFAULT_TOP_P = 0.9;
    static final int DEFAULT_TOP_K = 40;
    static final float DEFAULT_REPEAT_PENALTY = 1.1f;
    static final int DEFAULT_REPEAT_LAST_N = 64;

    /** Options that shape the answer, all honoured. */
    static final Set<String> SAMPLING_OPTIONS = Set.of("temperature", "top_p", "top_k", "seed", "num_predict", "stop",
            "num_ctx", "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty");

    /**
     * Options that say how a host should place and run the model (threads, GPU layers,
     * memory mapping, batch size), which a node's own configuration decides: accepted and
     * without effect, since they never change an answer. Clients and front ends pass them
     * through from a model's saved settings.
     */
    static final Set<String> HOST_HINTS = Set.of("num_thread", "num_gpu", "main_gpu", "use_mmap", "use_mlock", "numa",
            "num_batch", "low_vram");

    /** A keep-alive that never runs out. */
    static final Duration FOREVER = Duration.ofSeconds(-1);

    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

    private OllamaRequests() {
    }

    /** The fields {@code options} may hold on a generation route. */
    static Set<String> generationOptions() {
        var known = new HashSet<>(SAMPLING_OPTIONS);
        known.addAll(HOST_HINTS);
        return known;
    }

    /** A generation's sampling, budget and penalties, read from {@code options}. */
    record Options(Sampling sampling, int maxTokens, List<String> stop, Penalties penalties, int numCtx) {
    }

    /**
     * Reads {@code options}: temperature, top_p, top_k, seed, num_predict (negative: fill the
     * context), stop, num_ctx (the context this request may use; 0 where absent), the penalties.
     */
    static Options options(ObjectNode body) {
        ObjectNode options = Fields.object(body, "options").orElseGet(body::objectNode);
        Fields.refuseUnknown(options, "options.", generationOptions());
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
        int numCtx = Fields.integer(options, "num_ctx").orElse(0);
        if (numCtx < 0) {
            throw ApiException.invalid("options.num_ctx", "'options.num_ctx' was " + numCtx + ", must be positive");
        }
        return new Options(new Sampling(temperature, topP, topK, seed), maxTokens, Fields.stop(options, "stop"),
                penalties(options), numCtx);
    }

    private static Penalties penalties(ObjectNode options) {
        float repetition = (float) Fields.number(options, "repeat_penalty").orElse(DEFAULT_REPEAT_PENALTY);
        int lastN = Fields.integer(options, "repeat_last_n").orElse(DEFAULT_REPEAT_LAST_N);
        float presence = (float) Fields.number(options, "presence_penalty").orElse(0);
        float frequency = (float) Fields.number(options, "frequency_penalty").orElse(0);
        checkRange("options.repeat_penalty", repetition, Float.MIN_VALUE, 1e6f);
        checkRange("options.presence_penalty", presence, -2, 2);
        checkRange("options.frequency_penalty", frequency, -2, 2);
        if (lastN < -1) {
            throw ApiException.invalid("options.repeat_last_n", "'options.repeat_last_n' was " + lastN
                    + ", must be -1 (the whole context), 0 (off) or a count");
        }
        return new Penalties(presence, frequency, repetition, lastN);
    }

    private static void checkRange(String param, float value, float min, float max) {
        if (!(value >= min && value <= max)) {
            throw ApiException.invalid(param, "'" + param + "' was " + value + ", must be in [" + min + ", " + max + "]");
        }
    }

    /**
     * {@code keep_alive}: a number of seconds, or a duration such as {@code "5m"},
     * {@code "1h30m"}, {@code "500ms"} (Go's syntax, as Ollama takes it); zero unloads once
     * idle, negative keeps the model loaded for good. Empty where absent.
     */
    static Optional<Duration> keepAlive(ObjectNode body) {
        JsonNode v = Fields.get(body, "keep_alive").orElse(null);
        if (v == null) {
            return Optional.empty();
        }
        if (v.isNumber()) {
            return Optional.of(seconds(v.decimalValue()));
        }
        if (!v.isTextual()) {
            throw Fields.wrongType("keep_alive", "a number of seconds or a duration such as \"5m\"", v);
        }
        return Optional.of(duration(v.textValue().strip()));
    }

    /** Seconds as a keep-alive: negative is for good. */
    private static Duration seconds(BigDecimal seconds) {
        return seconds.signum() < 0 ? FOREVER : nanos(seconds.movePointRight(9));
    }

    private static Duration nanos(BigDecimal nanos) {
        return Duration.ofNanos(nanos.min(BigDecimal.valueOf(Long.MAX_VALUE)).longValue());
    }

    private static Duration duration(String text) {
        try {
            return seconds(new BigDecimal(text));
        } catch (NumberFormatException notANumber) {
            // a duration with units
        }
        boolean negative = text.startsWith("-");
        String rest = negative || text.startsWith("+") ? text.substring(1) : text;
        Matcher m = DURATION_PART.matcher(rest);
        BigDecimal nanos = BigDecimal.ZERO;
        int at = 0;
        while (at < rest.length() && m.find(at) && m.start() == at) {
            BigDecimal unit = switch (m.group(2)) {
                case "ns" -> BigDecimal.ONE;
                case "us", "µs" -> BigDecimal.valueOf(1_000);
                case "ms" -> BigDecimal.valueOf(1_000_000);
                case "s" -> BigDecimal.valueOf(1_000_000_000L);
                case "m" -> BigDecimal.valueOf(60_000_000_000L);
                default -> BigDecimal.valueOf(3_600_000_000_000L);
            };
            nanos = nanos.add(new BigDecimal(m.group(1)).multiply(unit));
            at = m.end();
        }
        if (rest.isEmpty() || at != rest.length()) {
            throw ApiException.invalid("keep_alive", "'keep_alive' was \"" + text
                    + "\": use seconds, or a duration such as \"5m\", \"1h30m\" or \"-1\"");
        }
        return negative && nanos.signum() > 0 ? FOREVER : nanos(nanos);
    }

    /**
     * {@code format}: {@code "json"} (any JSON object) or a JSON Schema, enforced while
     * decoding; null where absent or empty.
     */
    static Generations.Constrain format(ObjectNode body) {
        JsonNode format = Fields.get(body, "format").orElse(null);
        if (format == null || format.isTextual() && format.textValue().isEmpty()) {
            return null;
        }
        JsonNode schema;
        if (format.isTextual() && format.textValue().equals("json")) {
            schema = null;
        } else if (format.isObject()) {
            schema = format;
        } else {
            throw ApiException.invalid("format", "'format' must be \"json\" or a JSON Schema object, got "
                    + (format.isTextual() ? "\"" + format.textValue() + "\"" : format.getNodeType().name().toLowerCase()));
        }
        return (engine, maxTokens) -> {
            StructuredOutput output;
            try {
                output = StructuredOutput.compile(schema, engine.tokenizer());
            } catch (SchemaException e) {
                throw ApiException.invalid("format", "'format' at " + e.pointer() + ": " + e.getMessage());
            }
            try {
                return output.start(maxTokens);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("format", "'format': no document fits in " + maxTokens
                        + " tokens (options.num_predict): " + e.getMessage());
            }
        };
    }

    /**
     * {@code think}: true, false, or a level ({@code "low"}, {@code "medium"}, {@code "high"},
     * {@code "max"}, all meaning on: the templates served take only on or off). Empty where absent.
     */
    static Optional<Boolean> think(ObjectNode body) {
        JsonNode v = Fields.get(body, "think").orElse(null);
        if (v == null) {
            return Optional.empty();
        }
        if (v.isBoolean()) {
            return Optional.of(v.booleanValue());
        }
        if (v.isTextual() && Set.of("low", "medium", "high", "max").contains(v.textValue())) {
            return Optional.of(true);
        }
        throw ApiException.invalid("think", "'think' must be true, false, \"low\", \"medium\", \"high\" or \"max\", got "
                + v);
    }
}
