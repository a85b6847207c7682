package io.gpud.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.grammar.SchemaException;
import io.gpud.grammar.StructuredOutput;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.Penalties;
import io.gpud.inference.ReplyFormat;
import io.gpud.inference.Sampling;
import io.gpud.inference.TokenConstraint;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the OpenAI generation requests ({@code /v1/chat/completions}, {@code /v1/completions},
 * and what {@code /v1/responses} shares with them). Every field a request carries is either
 * honoured here or refused with a 400 naming it: a field this server knows but does not
 * implement gets a message saying why, any other field is refused as unknown. README's
 * "OpenAI request fields" table lists them all.
 */
final class OpenAiRequests {

    /** Most choices one request may ask for ({@code n}): each is a generation of its own. */
    static final int MAX_N = 8;
    /** Longest {@code user} / {@code safety_identifier} accepted; they go into the log. */
    static final int MAX_USER_CHARS = 256;

    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final Pattern FUNCTION_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    /** What both generation routes honour. */
    private static final Set<String> SHARED = Set.of("model", "n", "max_tokens", "temperature", "top_p", "top_k",
            "seed", "stop", "stream", "stream_options", "presence_penalty", "frequency_penalty",
            "repetition_penalty", "logprobs", "user", "safety_identifier", "store", "service_tier");

    /** The fields {@code /v1/chat/completions} honours. */
    static final Set<String> CHAT = union(SHARED, "messages", "max_completion_tokens", "top_logprobs",
            "response_format", "tools", "tool_choice", "parallel_tool_calls", "chat_template_kwargs",
            "reasoning_effort", "modalities");

    /** The fields {@code /v1/completions} honours. */
    static final Set<String> COMPLETION = union(SHARED, "prompt", "max_completion_tokens", "echo", "best_of");

    /** The fields of a chat message. */
    static final Set<String> MESSAGE = Set.of("role", "content", "name", "tool_calls", "tool_call_id",
            "reasoning_content", "refusal");

    /**
     * Fields of OpenAI's API this server does not implement, and why; refused by name on
     * every route that could receive them.
     */
    static final Map<String, String> NOT_IMPLEMENTED = Map.ofEntries(
            Map.entry("audio", "audio output is not supported: the models served write text only"),
            Map.entry("prediction", "predicted outputs are not supported"),
            Map.entry("web_search_options", "web search is not available on this server"),
            Map.entry("logit_bias", "biasing token logits is not supported; for a fixed output shape use "
                    + "'response_format' (structured output) or 'stop'"),
            Map.entry("functions", "'functions' is OpenAI's deprecated form of 'tools'; send 'tools'"),
            Map.entry("function_call", "'function_call' is OpenAI's deprecated form of 'tool_choice'; send "
                    + "'tool_choice'"),
            Map.entry("suffix", "inserting text between a prompt and a suffix is not supported"),
            Map.entry("metadata", "completions are not stored on this server, and 'metadata' only tags stored "
                    + "completions"),
            Map.entry("prompt_cache_key", "this server keeps no prompt cache that a key could select"),
            Map.entry("prompt_cache_retention", "this server keeps no prompt cache to retain"),
            Map.entry("verbosity", "the models served take no verbosity setting"));

    private OpenAiRequests() {
    }

    private static Set<String> union(Set<String> base, String... more) {
        var all = new HashSet<>(base);
        all.addAll(List.of(more));
        return Set.copyOf(all);
    }

    /**
     * Refuses what {@code body} carries outside {@code known}: a field this server knows
     * but does not implement with its reason, any other as not supported.
     */
    static void refuseUnsupported(ObjectNode body, String prefix, Set<String> known) {
        for (var e : NOT_IMPLEMENTED.entrySet()) {
            if (!known.contains(e.getKey()) && Fields.get(body, e.getKey()).isPresent()) {
                String param = prefix + e.getKey();
                throw ApiException.invalid(param, "'" + param + "' is not supported: " + e.getValue());
            }
        }
        Fields.refuseUnknown(body, prefix, known);
    }

    /**
     * The request's fields that choose nothing about the output but must still be honoured:
     * {@code store} (nothing is stored: only false), {@code service_tier} (one tier:
     * {@code auto} or {@code default}), {@code modalities} (text only), {@code user} and
     * {@code safety_identifier} (logged with the request ids; returned).
     */
    static String endUser(ObjectNode body) {
        if (Fields.bool(body, "store").orElse(false)) {
            throw ApiException.invalid("store", "'store': true is not supported: this server is stateless and "
                    + "keeps no completions or responses; send false or leave it out");
        }
        Fields.string(body, "service_tier").ifPresent(tier -> {
            if (!tier.equals("auto") && !tier.equals("default")) {
                throw ApiException.invalid("service_tier", "'service_tier' was '" + tier + "'; this server has one "
                        + "tier: send 'auto' or 'default'");
            }
        });
        Fields.get(body, "modalities").ifPresent(modalities -> {
            if (!modalities.isArray() || modalities.size() != 1 || !"text".equals(modalities.get(0).asText(null))) {
                throw ApiException.invalid("modalities", "'modalities' was " + modalities + "; the models served "
                        + "write text only: send [\"text\"]");
            }
        });
        String user = Fields.string(body, "user").orElse(null);
        String safety = Fields.string(body, "safety_identifier").orElse(null);
        for (String name : new String[] {"user", "safety_identifier"}) {
            String value = name.equals("user") ? user : safety;
            if (value != null && value.length() > MAX_USER_CHARS) {
                throw ApiException.invalid(name, "'" + name + "' is " + value.length() + " characters, at most "
                        + MAX_USER_CHARS + " are allowed");
            }
        }
        return safety != null ? safety : user;
    }

    /** {@code n}: choices to generate, 1 to {@value #MAX_N}. */
    static int choices(ObjectNode body) {
        int n = Fields.positive(body, "n").orElse(1);
        if (n > MAX_N) {
            throw ApiException.invalid("n", "'n' was " + n + ", at most " + MAX_N + " choices per request are "
                    + "generated");
        }
        return n;
    }

    /**
     * {@code temperature}, {@code top_p}, vLLM's {@code top_k} and {@code seed}; without a
     * seed, a random one.
     *
     * @param randomSeed the seed to use when the request names none
     */
    static Sampling sampling(ObjectNode body, long randomSeed) {
        float temperature = (float) Fields.temperature(body, "temperature").orElse(1.0);
        float topP = (float) Fields.topP(body, "top_p").orElse(1.0);
        int topK = Fields.integer(body, "top_k").orElse(0);
        if (topK < 0 && topK != -1) {
            throw ApiException.invalid("top_k", "'top_k' was " + topK + ", must be >= 0 (or -1 for none)");
        }
        return new Sampling(temperature, topP, Math.max(topK, 0), Fields.longValue(body, "seed").orElse(randomSeed));
    }

    /** Whether the request names a seed (each choice i is then seeded with seed + i). */
    static boolean seeded(ObjectNode body) {
        return Fields.longValue(body, "seed").isPresent();
    }

    /**
     * {@code presence_penalty} and {@code frequency_penalty} in [-2, 2], vLLM's
     * {@code repetition_penalty} &gt; 0: the first two over the reply's tokens, as OpenAI and
     * vLLM count them, repetition over the whole context (prompt and reply), as vLLM does.
     */
    static Penalties penalties(ObjectNode body) {
        float presence = (float) Fields.between(body, "presence_penalty", -2, 2).orElse(0);
        float frequency = (float) Fields.between(body, "frequency_penalty", -2, 2).orElse(0);
        OptionalDouble repetition = Fields.number(body, "repetition_penalty");
        if (repetition.isPresent() && !(repetition.getAsDouble() > 0 && repetition.getAsDouble() <= 10)) {
            throw ApiException.invalid("repetition_penalty", "'repetition_penalty' was " + repetition.getAsDouble()
                    + ", must be in (0, 10]; 1 applies none");
        }
        var penalties = new Penalties(presence, frequency, (float) repetition.orElse(1), -1, true);
        return penalties.none() ? Penalties.NONE : penalties;
    }

    /** {@code max_completion_tokens}, else {@code max_tokens}, else the configured default. */
    static int maxTokens(ObjectNode body) {
        return Fields.positive(body, "max_completion_tokens")
                .orElse(Fields.positive(body, "max_tokens").orElse(Generations.DEFAULT_MAX_TOKENS));
    }

    /** {@code stream_options.include_usage}; {@code stream_options} holds nothing else. */
    static boolean includeUsage(ObjectNode body) {
        return Fields.object(body, "stream_options").map(o -> {
            Fields.refuseUnknown(o, "stream_options.", Set.of("include_usage"));
            return Fields.bool(o, "include_usage").orElse(false);
        }).orElse(false);
    }

    /**
     * A chat's {@code logprobs} (a boolean) and {@code top_logprobs} (0 to 20, with
     * {@code logprobs}): the alternatives per token, or -1 for no log-probabilities.
     */
    static int chatLogprobs(ObjectNode body) {
        boolean logprobs = Fields.bool(body, "logprobs").orElse(false);
        int top = topLogprobs(body, "top_logprobs", 0);
        if (!logprobs && Fields.get(body, "top_logprobs").isPresent()) {
            throw ApiException.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true");
        }
        return logprobs ? top : -1;
    }

    /** A text completion's {@code logprobs}: alternatives per token (0 to 20), or -1 for none. */
    static int completionLogprobs(ObjectNode body) {
        return topLogprobs(body, "logprobs", -1);
    }

    private static int topLogprobs(ObjectNode body, String name, int absent) {
        int top = Fields.integer(body, name).orElse(absent);
        if (Fields.get(body, name).isPresent() && (top < 0 || top > GenerationRequest.MAX_TOP_LOGPROBS)) {
            throw ApiException.invalid(name, "'" + name + "' was " + top + ", must be between 0 and "
                    + GenerationRequest.MAX_TOP_LOGPROBS);
        }
        return top;
    }

    /**
     * {@code response_format}: {@code text} (no constraint), {@code json_object} (any JSON
     * object) or {@code json_schema} ({@code name}, {@code description}, {@code schema},
     * {@code strict}); the JSON forms are enforced by constrained decoding, strict or not.
     * Null when nothing constrains the output.
     *
     * @param param    the field's name ({@code response_format}, or the Responses API's {@code text.format})
     * @param maxParam the field that bounds the reply's tokens, named when no document fits in them
     */
    static Generations.Constrain responseFormat(ObjectNode format, String param, String maxParam) {
        Fields.refuseUnknown(format, param + ".", Set.of("type", "json_schema"));
        String type = Fields.string(format, param + ".type", "type").orElseThrow(() ->
                ApiException.invalid(param + ".type", "'" + param + ".type' is required"));
        return switch (type) {
            case "text" -> null;
            case "json_object" -> schemaConstraint(null, param, maxParam);
            case "json_schema" -> {
                ObjectNode schema = Fields.object(format, "json_schema").orElseThrow(() -> ApiException.invalid(
                        param + ".json_schema", "'" + param + ".json_schema' is required with type json_schema"));
                yield jsonSchema(schema, param + ".json_schema", maxParam);
            }
            default -> throw ApiException.invalid(param + ".type", "'" + param + ".type' was '" + type
                    + "', must be text, json_object or json_schema");
        };
    }

    /**
     * A {@code json_schema} object ({@code name}, {@code description}, {@code schema},
     * {@code strict}) as a constraint; {@code strict: false} is enforced as well.
     */
    static Generations.Constrain jsonSchema(ObjectNode spec, String param, String maxParam) {
        Fields.refuseUnknown(spec, param + ".", Set.of("name", "description", "schema", "strict"));
        String name = Fields.string(spec, param + ".name", "name").orElseThrow(() ->
                ApiException.invalid(param + ".name", "'" + param + ".name' is required"));
        if (!FUNCTION_NAME.matcher(name).matches()) {
            throw ApiException.invalid(param + ".name", "'" + param + ".name' was '" + name
                    + "'; it must be 1 to 64 letters, digits, '_' or '-'");
        }
        Fields.string(spec, param + ".description", "description");
        Fields.get(spec, "strict").ifPresent(strict -> {
            if (!strict.isBoolean()) {
                throw Fields.wrongType(param + ".strict", "a boolean", strict);
            }
        });
        JsonNode schema = Fields.get(spec, "schema").orElse(null);
        if (schema != null && !schema.isObject()) {
            throw Fields.wrongType(param + ".schema", "an object", schema);
        }
        return schemaConstraint(schema, param + ".schema", maxParam);
    }

    /** Constrains the output to a JSON document valid against {@code schema} (null: any object). */
    private static Generations.Constrain schemaConstraint(JsonNode schema, String param, String maxParam) {
        return (engine, maxTokens) -> {
            StructuredOutput output = compile(schema, engine, param);
            return start(output, maxTokens, maxParam);
        };
    }

    private static StructuredOutput compile(JsonNode schema, Engine engine, String param) {
        try {
            return StructuredOutput.compile(schema, engine.tokenizer());
        } catch (SchemaException e) {
            throw ApiException.invalid(param, "'" + param + "' cannot be enforced at " + e.pointer() + ": "
                    + e.getMessage());
        }
    }

    private static TokenConstraint start(StructuredOutput output, int maxTokens, String maxParam) {
        try {
            return output.start(maxTokens);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(maxParam, "no document of the requested format fits in " + maxTokens
                    + " tokens (" + e.getMessage() + "); allow more tokens");
        }
    }

    /**
     * How a chat request lets the model use tools.
     *
     * @param definitions the tools offered, as the template receives them ({@code {type: function, function}})
     * @param offered     whether the model sees them ({@code tool_choice} other than {@code none})
     * @param forced      null when the model may answer in text; empty when it must call one
     *                    ({@code required}); else the name of the function it must call
     * @param parallel    whether a reply may carry several calls ({@code parallel_tool_calls});
     *                    when false, only the first is kept
     */
    record Tools(List<Object> definitions, boolean offered, String forced, boolean parallel) {
        static final Tools NONE = new Tools(List.of(), false, null, true);

        /**
         * The constraint that holds the model to a call when {@code tool_choice} forces one,
         * else null; {@code maxParam} names the field that bounds the reply's tokens.
         */
        Generations.Constrain constraint(String maxParam) {
            if (forced == null) {
                return null;
            }
            return (engine, maxTokens) -> {
                ReplyFormat.ForcedToolCall call;
                try {
                    call = ReplyFormat.of(engine.chatTemplate())
                            .forcedToolCall(definitions, forced.isEmpty() ? null : forced);
                } catch (IllegalArgumentException e) {
                    throw ApiException.invalid("tools", "a tool call cannot be forced: " + e.getMessage());
                }
                JsonNode schema;
                try {
                    schema = PLAIN.readTree(call.schemaJson());
                } catch (JsonProcessingException e) {
                    throw ApiException.internal("the forced tool call's schema is not JSON", e);
                }
                StructuredOutput output = compile(schema, engine, "tools").wrapped(call.prefix(), call.suffix());
                return start(output, maxTokens, maxParam);
            };
        }
    }

    /**
     * Validates {@code tools} ({@code [{type: function, function: {name, description,
     * parameters, strict}}]}) and reads {@code tool_choice} ({@code auto}, {@code none},
     * {@code required}, {@code {type: function, function: {name}}}) and
     * {@code parallel_tool_calls}.
     */
    static Tools tools(ObjectNode body, List<Object> definitions) {
        JsonNode tools = Fields.get(body, "tools").orElse(null);
        Set<String> names = new HashSet<>();
        if (tools != null && tools.isArray()) {
            for (int i = 0; i < tools.size(); i++) {
                names.add(toolName((ObjectNode) tools.get(i), "tools[" + i + "]"));
            }
        }
        boolean parallel = Fields.bool(body, "parallel_tool_calls").orElse(true);
        JsonNode choice = Fields.get(body, "tool_choice").orElse(null);
        String forced = null;
        boolean offered = !names.isEmpty();
        if (choice != null && choice.isObject()) {
            forced = namedChoice((ObjectNode) choice, names);
        } else if (choice != null) {
            switch (choiceWord(choice)) {
                case AUTO -> {
                }
                case NONE -> offered = false;
                case REQUIRED -> forced = "";
            }
        }
        if (forced != null && names.isEmpty()) {
            throw ApiException.invalid("tool_choice", "'tool_choice' asks for a tool call but 'tools' offers none");
        }
        return offered ? new Tools(definitions, true, forced, parallel) : Tools.NONE;
    }

    private static String toolName(ObjectNode tool, String param) {
        String type = Fields.string(tool, param + ".type", "type").orElse("function");
        if (!type.equals("function")) {
            throw ApiException.invalid(param + ".type", "'" + param + ".type' was '" + type
                    + "'; only function tools are supported");
        }
        Fields.refuseUnknown(tool, param + ".", Set.of("type", "function"));
        ObjectNode function = Fields.object(tool, "function").orElseThrow(() ->
                ApiException.invalid(param + ".function", "'" + param + ".function' is required"));
        return function(function, param + ".function");
    }

    /** A function definition ({@code name}, {@code description}, {@code parameters}, {@code strict}); its name. */
    static String function(ObjectNode function, String param) {
        Fields.refuseUnknown(function, param + ".", Set.of("name", "description", "parameters", "strict"));
        return functionFields(function, param);
    }

    /** Checks a function's {@code name}, {@code description}, {@code parameters} and {@code strict}; its name. */
    static String functionFields(ObjectNode function, String param) {
        String name = Fields.string(function, param + ".name", "name").orElseThrow(() ->
                ApiException.invalid(param + ".name", "'" + param + ".name' is required"));
        if (!FUNCTION_NAME.matcher(name).matches()) {
            throw ApiException.invalid(param + ".name", "'" + param + ".name' was '" + name
                    + "'; it must be 1 to 64 letters, digits, '_' or '-'");
        }
        Fields.string(function, param + ".description", "description");
        Fields.get(function, "parameters").ifPresent(p -> {
            if (!p.isObject()) {
                throw Fields.wrongType(param + ".parameters", "an object (a JSON Schema)", p);
            }
        });
        Fields.get(function, "strict").ifPresent(strict -> {
            if (!strict.isBoolean()) {
                throw Fields.wrongType(param + ".strict", "a boolean", strict);
            }
        });
        return name;
    }

    private static String namedChoice(ObjectNode choice, Set<String> names) {
        Fields.refuseUnknown(choice, "tool_choice.", Set.of("type", "function"));
        String type = Fields.string(choice, "tool_choice.type", "type").orElse("function");
        if (!type.equals("function")) {
            throw ApiException.invalid("tool_choice.type", "'tool_choice.type' was '" + type
                    + "'; only function tools are supported");
        }
        ObjectNode function = Fields.object(choice, "function").orElseThrow(() ->
                ApiException.invalid("tool_choice.function", "'tool_choice.function' is required"));
        Fields.refuseUnknown(function, "tool_choice.function.", Set.of("name"));
        String name = Fields.string(function, "tool_choice.function.name", "name").orElseThrow(() ->
                ApiException.invalid("tool_choice.function.name", "'tool_choice.function.name' is required"));
        return checkOffered(name, names, "tool_choice.function.name");
    }

    static String checkOffered(String name, Set<String> names, String param) {
        if (!names.contains(name)) {
            throw ApiException.invalid(param, "'" + param + "' names '" + name + "', which 'tools' does not offer");
        }
        return name;
    }

    /** {@code reasoning_effort}: none, minimal, low, medium or high; null when absent. */
    static String reasoningEffort(ObjectNode body, String param) {
        String effort = Fields.string(body, param, param.substring(param.lastIndexOf('.') + 1)).orElse(null);
        if (effort != null && !Set.of("none", "minimal", "low", "medium", "high").contains(effort)) {
            throw ApiException.invalid(param, "'" + param + "' was '" + effort
                    + "', must be none, minimal, low, medium or high");
        }
        return effort;
    }

    /**
     * Applies a {@code reasoning_effort} for a model that reasons: the template receives it
     * as {@code reasoning_effort} (gpt-oss reads it) and as {@code enable_thinking} (Qwen 3's
     * switch: off for none and minimal), unless {@code chat_template_kwargs} sets them. A
     * model that does not reason in a section of its own is refused.
     */
    static ChatTemplate.Conversation withReasoningEffort(ChatTemplate.Conversation conversation, String effort,
                                                         String param, ReplyFormat format, String model) {
        if (effort == null) {
            return conversation;
        }
        if (!format.supportsThinking()) {
            throw ApiException.invalid(param, "the model '" + model + "' does not reason in a section of its own, "
                    + "so '" + param + "' cannot be honoured; leave it out");
        }
        var options = new LinkedHashMap<>(conversation.options());
        options.putIfAbsent("reasoning_effort", effort);
        options.putIfAbsent("enable_thinking", !effort.equals("none") && !effort.equals("minimal"));
        return new ChatTemplate.Conversation(conversation.messages(), conversation.tools(), options);
    }


    /** The words {@code tool_choice} may be instead of an object naming a function. */
    enum ChoiceWord { AUTO, NONE, REQUIRED }

    /** {@code tool_choice} given as a string: auto, none or required. */
    static ChoiceWord choiceWord(JsonNode choice) {
        if (!choice.isTextual()) {
            throw Fields.wrongType("tool_choice", "a string or an object", choice);
        }
        return switch (choice.textValue()) {
            case "auto" -> ChoiceWord.AUTO;
            case "none" -> ChoiceWord.NONE;
            case "required" -> ChoiceWord.REQUIRED;
            default -> throw ApiException.invalid("tool_choice", "'tool_choice' was '" + choice.textValue()
                    + "', must be none, auto, required or an object naming a function");
        };
    }
}
