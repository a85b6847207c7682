package io.gpud.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The JSON Schema of one tool call, for {@link ReplyFormat#forcedToolCall}: an object with
 * the function's name as a constant and its parameters schema as the arguments, no other
 * keys; {@code anyOf} those when the call may be of any of several tools.
 */
final class ForcedCallSchema {
    private static final JsonNodeFactory NODES = JsonNodeFactory.withExactBigDecimals(true);

    private ForcedCallSchema() {
    }

    /**
     * @param tools        {@code [{type: function, function: {name, parameters?, ...}}]} as plain Java values
     * @param function     the one tool to call, or null for any
     * @param argumentsKey {@code arguments} or {@code parameters}
     * @return the schema as JSON text
     * @throws IllegalArgumentException naming the tool that is malformed, or the function no tool has
     */
    static String of(List<Object> tools, String function, String argumentsKey) {
        if (tools.isEmpty()) {
            throw new IllegalArgumentException("no tools were offered, so none can be called");
        }
        var calls = new ArrayList<JsonNode>();
        for (int i = 0; i < tools.size(); i++) {
            Map<?, ?> definition = map(tools.get(i), "tools[" + i + "].function");
            String name = name(definition, "tools[" + i + "].function.name");
            if (function == null || function.equals(name)) {
                calls.add(call(name, definition.get("parameters"), argumentsKey, "tools[" + i + "].function.parameters"));
            }
        }
        if (calls.isEmpty()) {
            throw new IllegalArgumentException("no tool is named '" + function + "'");
        }
        if (calls.size() == 1) {
            return calls.getFirst().toString();
        }
        ObjectNode anyOf = NODES.objectNode();
        anyOf.putArray("anyOf").addAll(calls);
        return anyOf.toString();
    }

    private static Map<?, ?> map(Object tool, String where) {
        if (!(tool instanceof Map<?, ?> definition)
                || (definition.get("type") != null && !"function".equals(definition.get("type")))
                || !(definition.get("function") instanceof Map<?, ?> function)) {
            throw new IllegalArgumentException(where + " is missing: a tool is {\"type\": \"function\", \"function\": {...}}");
        }
        return function;
    }

    private static String name(Map<?, ?> function, String where) {
        if (!(function.get("name") instanceof String name) || name.isEmpty()) {
            throw new IllegalArgumentException(where + " must be a non-empty string");
        }
        return name;
    }

    private static ObjectNode call(String name, Object parameters, String argumentsKey, String where) {
        ObjectNode arguments;
        if (parameters == null) {
            arguments = NODES.objectNode().put("type", "object");
            arguments.putObject("properties");
            arguments.put("additionalProperties", false);
        } else if (ReplyScanner.JSON.valueToTree(parameters) instanceof ObjectNode schema
                && (!schema.has("type") || schema.get("type").asText().equals("object"))) {
            // the arguments are an object whatever the schema leaves open
            arguments = schema.put("type", "object");
        } else {
            throw new IllegalArgumentException(where + " must be a JSON Schema of type object");
        }
        ObjectNode call = NODES.objectNode().put("type", "object");
        ObjectNode properties = call.putObject("properties");
        properties.putObject("name").put("const", name);
        properties.set(argumentsKey, arguments);
        call.putArray("required").add("name").add(argumentsKey);
        call.put("additionalProperties", false);
        return call;
    }
}
