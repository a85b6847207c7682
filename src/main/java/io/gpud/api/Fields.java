package io.gpud.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.inference.ChatTemplate;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Typed reads of request fields. A field that is absent or JSON {@code null} is empty; a
 * field of the wrong type is a 400 naming the field, the expected and the actual type.
 * A route names the fields it honours ({@link #refuseUnknown}); any other field is a 400
 * naming it, so nothing a client asks for is silently dropped.
 */
final class Fields {
    /** Turns request JSON into the plain Java values chat templates take. */
    private static final ObjectMapper PLAIN = new ObjectMapper();

    /** Most stop sequences a request may carry (OpenAI's limit). */
    static final int MAX_STOP = 4;

    private Fields() {
    }

    /**
     * Refuses the first field of {@code object} that is not in {@code known}: a 400 naming it
     * ({@code prefix} + its name, e.g. {@code options.mirostat}). A field whose value is JSON
     * {@code null} asks for nothing and passes.
     *
     * @param prefix the object's own name and a dot, or empty for the request body
     */
    static void refuseUnknown(ObjectNode object, String prefix, Set<String> known) {
        for (var it = object.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name) && !object.get(name).isNull()) {
                String param = prefix + name;
                throw ApiException.invalid(param, "'" + param + "' is not supported by this server");
            }
        }
    }

    static Optional<JsonNode> get(ObjectNode body, String name) {
        JsonNode v = body.get(name);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    static String requiredString(ObjectNode body, String name) {
        return string(body, name).orElseThrow(() -> ApiException.invalid(name, "'" + name + "' is required"));
    }

    static Optional<String> string(ObjectNode body, String name) {
        return string(body, name, name);
    }

    /** The string field {@code name} of an object the request names {@code param} (for errors). */
    static Optional<String> string(ObjectNode object, String param, String name) {
        return get(object, name).map(v -> {
            if (!v.isTextual()) {
                throw wrongType(param, "a string", v);
            }
            return v.textValue();
        });
    }

    static Optional<Boolean> bool(ObjectNode body, String name) {
        return get(body, name).map(v -> {
            if (!v.isBoolean()) {
                throw wrongType(name, "a boolean", v);
            }
            return v.booleanValue();
        });
    }

    static OptionalInt integer(ObjectNode body, String name) {
        return whole(body, name, Integer.MIN_VALUE, Integer.MAX_VALUE).map(v -> OptionalInt.of(v.intValue()))
                .orElse(OptionalInt.empty());
    }

    static OptionalLong longValue(ObjectNode body, String name) {
        return whole(body, name, Long.MIN_VALUE, Long.MAX_VALUE).map(v -> OptionalLong.of(v.longValue()))
                .orElse(OptionalLong.empty());
    }

    /**
     * A whole number in {@code [min, max]}: written as an integer or with an exponent or a
     * zero fraction ({@code 1e3}, {@code 5.0}). Out of range, the message names the bound;
     * with a fraction, it says so; only a value that is no number at all is a wrong type.
     */
    private static Optional<BigDecimal> whole(ObjectNode body, String name, long min, long max) {
        Optional<JsonNode> v = get(body, name);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        if (!v.get().isNumber()) {
            throw wrongType(name, "an integer", v.get());
        }
        double approximate = v.get().doubleValue(); // infinite when the literal is beyond a double
        if (!Double.isFinite(approximate)) {
            throw ApiException.invalid(name, "'" + name + "' was a number beyond any double, too "
                    + (approximate > 0 ? "large: must be at most " + max : "small: must be at least " + min));
        }
        BigDecimal value = v.get().decimalValue();
        if (value.signum() != 0 && value.stripTrailingZeros().scale() > 0) {
            throw ApiException.invalid(name, "'" + name + "' was " + v.get().asText() + ", must be a whole number");
        }
        if (value.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw ApiException.invalid(name, "'" + name + "' was " + v.get().asText() + ", too large: must be at most "
                    + max);
        }
        if (value.compareTo(BigDecimal.valueOf(min)) < 0) {
            throw ApiException.invalid(name, "'" + name + "' was " + v.get().asText() + ", too small: must be at least "
                    + min);
        }
        return Optional.of(value);
    }

    static OptionalDouble number(ObjectNode body, String name) {
        Optional<JsonNode> v = get(body, name);
        if (v.isEmpty()) {
            return OptionalDouble.empty();
        }
        if (!v.get().isNumber()) {
            throw wrongType(name, "a number", v.get());
        }
        return OptionalDouble.of(v.get().doubleValue());
    }

    static Optional<ObjectNode> object(ObjectNode body, String name) {
        return get(body, name).map(v -> {
            if (!(v instanceof ObjectNode o)) {
                throw wrongType(name, "an object", v);
            }
            return o;
        });
    }

    /** A number in {@code [min, max]}. */
    static OptionalDouble between(ObjectNode body, String name, double min, double max) {
        OptionalDouble v = number(body, name);
        if (v.isPresent() && !(v.getAsDouble() >= min && v.getAsDouble() <= max)) {
            throw ApiException.invalid(name, "'" + name + "' was " + v.getAsDouble() + ", must be between " + min
                    + " and " + max);
        }
        return v;
    }

    /** A temperature in [0, 2]. */
    static OptionalDouble temperature(ObjectNode body, String name) {
        OptionalDouble t = number(body, name);
        if (t.isPresent() && !(t.getAsDouble() >= 0 && t.getAsDouble() <= 2)) {
            throw ApiException.invalid(name, "'" + name + "' was " + t.getAsDouble() + ", must be between 0 and 2");
        }
        return t;
    }

    /** A nucleus probability in (0, 1]. */
    static OptionalDouble topP(ObjectNode body, String name) {
        OptionalDouble p = number(body, name);
        if (p.isPresent() && !(p.getAsDouble() > 0 && p.getAsDouble() <= 1)) {
            throw ApiException.invalid(name, "'" + name + "' was " + p.getAsDouble() + ", must be in (0, 1]");
        }
        return p;
    }

    /** A count that must be positive when given. */
    static OptionalInt positive(ObjectNode body, String name) {
        OptionalInt n = integer(body, name);
        if (n.isPresent() && n.getAsInt() <= 0) {
            throw ApiException.invalid(name, "'" + name + "' was " + n.getAsInt() + ", must be > 0");
        }
        return n;
    }

    /** Stop sequences: one string or an array of at most {@value #MAX_STOP} non-empty strings. */
    static List<String> stop(ObjectNode body, String name) {
        Optional<JsonNode> v = get(body, name);
        if (v.isEmpty()) {
            return List.of();
        }
        List<String> stops = new ArrayList<>();
        if (v.get().isTextual()) {
            stops.add(v.get().textValue());
        } else if (v.get().isArray()) {
            if (v.get().size() > MAX_STOP) {
                throw ApiException.invalid(name, "'" + name + "' has " + v.get().size()
                        + " sequences, at most " + MAX_STOP + " are allowed");
            }
            for (JsonNode s : v.get()) {
                if (!s.isTextual()) {
                    throw wrongType(name + "[]", "a string", s);
                }
                stops.add(s.textValue());
            }
        } else {
            throw wrongType(name, "a string or an array of strings", v.get());
        }
        if (stops.stream().anyMatch(String::isEmpty)) {
            throw ApiException.invalid(name, "'" + name + "' contains an empty string");
        }
        return List.copyOf(stops);
    }

    /**
     * A message's text, and the text parts it came as.
     *
     * @param text  the text (the parts joined, where it came as parts)
     * @param parts the text of each part as sent, empty where the content came as one string
     */
    record Content(String text, List<String> parts) {
        Content {
            parts = List.copyOf(parts);
        }

        static Content of(String text) {
            return new Content(text, List.of());
        }
    }

    /** How one dialect reads a message's content: {@code (message, param) -> content}. */
    interface ContentReader {
        Content content(ObjectNode message, String param);
    }

    /**
     * How one dialect writes what the two APIs name differently in a message.
     *
     * @param content        reads the content
     * @param nameField      the field naming the message's author or, on a tool message, the
     *                       tool that answered ({@code name}, Ollama's {@code tool_name})
     * @param reasoningField the field holding an assistant message's reasoning
     *                       ({@code reasoning_content}, Ollama's {@code thinking})
     */
    record MessageDialect(ContentReader content, String nameField, String reasoningField) {
    }

    /**
     * A chat request's conversation: {@code messages} (a non-empty array of objects with a
     * role and a content; assistant messages may carry {@code tool_calls} and reasoning,
     * tool messages a {@code tool_call_id}, any message a name, in the dialect's field),
     * the {@code tools} offered, and {@code chat_template_kwargs} (variables for the model's
     * template, such as {@code enable_thinking}). Tool-call arguments sent as JSON text
     * holding an object are passed to the template as that object, as templates expect.
     */
    static ChatTemplate.Conversation conversation(ObjectNode body, MessageDialect dialect) {
        JsonNode messages = get(body, "messages")
                .orElseThrow(() -> ApiException.invalid("messages", "'messages' is required"));
        if (!messages.isArray()) {
            throw wrongType("messages", "an array", messages);
        }
        if (messages.isEmpty()) {
            throw ApiException.invalid("messages", "'messages' is empty; at least one message is required");
        }
        List<ChatTemplate.Message> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            String param = "messages[" + i + "]";
            if (!(messages.get(i) instanceof ObjectNode m)) {
                throw wrongType(param, "an object", messages.get(i));
            }
            Content content = dialect.content().content(m, param);
            out.add(new ChatTemplate.Message(role(m, param), content.text(), content.parts(),
                    toolCalls(m, param), messageString(m, param, "tool_call_id"),
                    messageString(m, param, dialect.reasoningField()), messageString(m, param, dialect.nameField())));
        }
        List<Object> tools = new ArrayList<>();
        JsonNode toolsNode = get(body, "tools").orElse(null);
        if (toolsNode != null) {
            if (!toolsNode.isArray()) {
                throw wrongType("tools", "an array", toolsNode);
            }
            for (int i = 0; i < toolsNode.size(); i++) {
                if (!toolsNode.get(i).isObject()) {
                    throw wrongType("tools[" + i + "]", "an object", toolsNode.get(i));
                }
                tools.add(PLAIN.convertValue(toolsNode.get(i), Object.class));
            }
        }
        var options = new LinkedHashMap<String, Object>();
        object(body, "chat_template_kwargs").ifPresent(kwargs -> kwargs.properties().forEach(
                e -> options.put(e.getKey(), PLAIN.convertValue(e.getValue(), Object.class))));
        return new ChatTemplate.Conversation(out, tools, options);
    }

    private static String messageString(ObjectNode message, String param, String name) {
        return string(message, param + "." + name, name).orElse(null);
    }

    private static List<ChatTemplate.ToolCall> toolCalls(ObjectNode message, String param) {
        JsonNode calls = get(message, "tool_calls").orElse(null);
        if (calls == null) {
            return List.of();
        }
        if (!calls.isArray()) {
            throw wrongType(param + ".tool_calls", "an array", calls);
        }
        var out = new ArrayList<ChatTemplate.ToolCall>();
        for (int i = 0; i < calls.size(); i++) {
            String callParam = param + ".tool_calls[" + i + "]";
            if (!(calls.get(i) instanceof ObjectNode call)) {
                throw wrongType(callParam, "an object", calls.get(i));
            }
            ObjectNode function = object(call, "function").orElseThrow(() -> ApiException.invalid(
                    callParam + ".function", "'" + callParam + ".function' is required"));
            String name = string(function, "name").orElseThrow(() -> ApiException.invalid(
                    callParam + ".function.name", "'" + callParam + ".function.name' is required"));
            JsonNode arguments = get(function, "arguments").orElse(null);
            Object args = arguments == null ? Map.of()
                    : arguments.isTextual() ? toolArguments(arguments.textValue())
                    : PLAIN.convertValue(arguments, Object.class);
            out.add(new ChatTemplate.ToolCall(string(call, "id").orElse(null), name, args));
        }
        return out;
    }

    /**
     * Tool-call arguments sent as JSON text: the object the text holds, as templates expect,
     * or the text itself where it holds no object.
     */
    static Object toolArguments(String text) {
        try {
            JsonNode parsed = PLAIN.readTree(text);
            return parsed != null && parsed.isObject() ? PLAIN.convertValue(parsed, Object.class) : text;
        } catch (JsonProcessingException notJson) {
            return text;
        }
    }

    /** A chat role; OpenAI's {@code developer} is the system role. */
    static String role(ObjectNode message, String param) {
        String name = param + ".role";
        String role = string(message, "role")
                .orElseThrow(() -> ApiException.invalid(name, "'" + name + "' is required"));
        return switch (role) {
            case "system", "user", "assistant", "tool" -> role;
            case "developer" -> "system";
            default -> throw ApiException.invalid(name, "'" + name + "' was '" + role
                    + "', must be system, developer, user, assistant or tool");
        };
    }

    static ApiException wrongType(String name, String expected, JsonNode actual) {
        return ApiException.invalid(name, "'" + name + "' must be " + expected + ", got "
                + actual.getNodeType().name().toLowerCase(Locale.ROOT));
    }
}
