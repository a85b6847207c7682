package io.gpud.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema to {@link Shape}s. Reads the keywords that decide what a document may be and
 * refuses every other one by its JSON pointer, so nothing a client asks for is dropped;
 * annotations ({@code title}, {@code description}, {@code default}, ...) are read and
 * left. {@code $ref} works within the schema ({@code #}, {@code #/$defs/...},
 * {@code #/definitions/...}, any JSON pointer) and may be recursive.
 */
final class SchemaCompiler {
    private static final Set<String> ANNOTATIONS = Set.of("$schema", "$id", "$comment", "$defs", "definitions", "title",
            "description", "default", "examples", "deprecated", "readOnly", "writeOnly");
    private static final Set<String> OBJECT = Set.of("properties", "required", "additionalProperties", "propertyNames");
    private static final Set<String> ARRAY = Set.of("items", "prefixItems", "minItems", "maxItems");
    private static final Set<String> STRING = Set.of("minLength", "maxLength", "format", "pattern");
    private static final Set<String> NUMBER = Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "number", "integer", "boolean", "null");

    private final JsonNode root;
    private final Map<String, Shape.Ref> refs = new HashMap<>();
    private final Map<String, Shape> compiled = new HashMap<>();  // schema text -> its shape
    private final List<Shape> shapes = new ArrayList<>();

    private SchemaCompiler(JsonNode root) {
        this.root = root;
    }

    /** The shape of {@code schema}; null means any JSON object. */
    static Shape compile(JsonNode schema) {
        if (schema == null) {
            return Frame.ANY_OBJECT;
        }
        var compiler = new SchemaCompiler(schema);
        Shape shape = compiler.shape(schema, "");
        for (int pass = 0; ; pass++) {
            var pending = new ArrayList<>(compiler.refs.entrySet());
            boolean resolvedAll = true;
            for (var entry : pending) {
                if (entry.getValue().target == null) {
                    resolvedAll = false;
                    String ref = entry.getKey();
                    JsonNode target = ref.equals("#") ? schema : schema.at(ref.substring(1));
                    entry.getValue().target = compiler.shape(target, ref.substring(1));
                }
            }
            if (resolvedAll) {
                break;
            }
        }
        compiler.refuseEmptyCycles();
        boolean changed = true;
        for (int pass = 0; changed && pass < 10_000; pass++) {
            changed = false;
            for (Shape s : compiler.shapes) {
                changed |= s.update();
            }
        }
        if (shape.minBytes >= Shape.UNREACHABLE) {
            throw new SchemaException("", "no JSON document satisfies this schema");
        }
        return shape;
    }

    private <S extends Shape> S add(S shape) {
        shapes.add(shape);
        return shape;
    }

    /**
     * Refuses a {@code $ref} that leads back to itself through {@code $ref}s and
     * alternatives only ({@code {"anyOf":[{"$ref":"#"},{"type":"null"}]}}): the automaton
     * would follow it forever before reading a byte. Recursion through an object or an
     * array reads a brace or a bracket first, and stays.
     */
    private void refuseEmptyCycles() {
        var done = new HashSet<Shape>();
        for (Shape s : shapes) {
            refuseEmptyCycles(s, new ArrayList<>(), done);
        }
    }

    private void refuseEmptyCycles(Shape shape, List<Shape> path, Set<Shape> done) {
        if (done.contains(shape)) {
            return;
        }
        int seen = path.indexOf(shape);
        if (seen >= 0) {
            String ref = refs.entrySet().stream().filter(e -> path.subList(seen, path.size()).contains(e.getValue()))
                    .map(Map.Entry::getKey).sorted().findFirst().orElseThrow();
            throw new SchemaException(ref.substring(1), "$ref cycle that consumes nothing: " + ref + " leads back to"
                    + " itself through $ref, anyOf or oneOf before any byte is written");
        }
        path.add(shape);
        switch (shape) {
            case Shape.Ref ref -> refuseEmptyCycles(ref.target, path, done);
            case Shape.Union union -> union.alternatives.forEach(a -> refuseEmptyCycles(a, path, done));
            default -> {
            }
        }
        path.removeLast();
        done.add(shape);
    }

    /**
     * The shape of the schema {@code node}. Equal schema texts compile to one shape (a
     * {@code $ref} means the same wherever it is), so equal alternatives give equal parser
     * heads, which {@link Frame.Heads} keeps once.
     */
    private Shape shape(JsonNode node, String pointer) {
        if (!node.isContainerNode()) {
            return build(node, pointer);
        }
        String text = node.toString();
        Shape known = compiled.get(text);
        if (known == null) {
            known = build(node, pointer);
            compiled.put(text, known);
        }
        return known;
    }

    private Shape build(JsonNode node, String pointer) {
        if (node.isMissingNode()) {
            throw new SchemaException(pointer, "$ref to " + (pointer.isEmpty() ? "#" : pointer)
                    + " points at nothing in the schema");
        }
        if (node.isBoolean()) {
            if (!node.booleanValue()) {
                throw new SchemaException(pointer, "schema false allows no value");
            }
            return Frame.ANY;
        }
        if (!node.isObject()) {
            throw new SchemaException(pointer, "a schema must be an object or a boolean, not " + node.getNodeType());
        }
        Set<String> keywords = new LinkedHashSet<>();
        node.fieldNames().forEachRemaining(keywords::add);
        keywords.removeAll(ANNOTATIONS);
        for (String k : keywords) {
            boolean known = k.equals("type") || k.equals("enum") || k.equals("const") || k.equals("anyOf")
                    || k.equals("oneOf") || k.equals("$ref") || OBJECT.contains(k) || ARRAY.contains(k)
                    || STRING.contains(k) || NUMBER.contains(k);
            if (!known) {
                throw new SchemaException(at(pointer, k), "keyword '" + k + "' is not supported by structured output");
            }
        }
        if (keywords.contains("$ref")) {
            alone(keywords, "$ref", pointer);
            return ref(node.get("$ref"), at(pointer, "$ref"));
        }
        for (String combinator : List.of("anyOf", "oneOf")) {
            if (keywords.contains(combinator)) {
                alone(keywords, combinator, pointer);
                JsonNode alternatives = node.get(combinator);
                if (!alternatives.isArray() || alternatives.isEmpty()) {
                    throw new SchemaException(at(pointer, combinator), combinator + " must be a non-empty array");
                }
                var shapes = new ArrayList<Shape>();
                for (int i = 0; i < alternatives.size(); i++) {
                    shapes.add(shape(alternatives.get(i), at(at(pointer, combinator), String.valueOf(i))));
                }
                return shapes.size() == 1 ? shapes.getFirst() : add(new Shape.Union(shapes));
            }
        }
        List<String> types = types(node, pointer);
        if (keywords.contains("enum") || keywords.contains("const")) {
            return literal(node, keywords, types, pointer);
        }
        if (types.isEmpty()) {
            types = inferred(keywords);
        }
        if (types.isEmpty()) {
            return Frame.ANY;
        }
        for (String k : keywords) {
            if (!k.equals("type") && !appliesTo(k, types)) {
                throw new SchemaException(at(pointer, k), "keyword '" + k + "' does not apply to type "
                        + String.join(" or ", types));
            }
        }
        var alternatives = new ArrayList<Shape>();
        for (String type : types) {
            alternatives.add(switch (type) {
                case "object" -> object(node, pointer);
                case "array" -> array(node, pointer);
                case "string" -> string(node, pointer);
                case "number", "integer" -> number(node, pointer, type.equals("integer"));
                case "boolean" -> add(new Shape.Literal(new byte[][] {bytes("true"), bytes("false")}));
                default -> add(new Shape.Literal(new byte[][] {bytes("null")}));
            });
        }
        return alternatives.size() == 1 ? alternatives.getFirst() : add(new Shape.Union(alternatives));
    }

    private static boolean appliesTo(String keyword, List<String> types) {
        return (OBJECT.contains(keyword) && types.contains("object")) || (ARRAY.contains(keyword) && types.contains("array"))
                || (STRING.contains(keyword) && types.contains("string"))
                || (NUMBER.contains(keyword) && (types.contains("number") || types.contains("integer")))
                || (keyword.equals("format") && (types.contains("number") || types.contains("integer")));
    }

    private static List<String> inferred(Set<String> keywords) {
        var types = new ArrayList<String>();
        for (var entry : List.of(Map.entry("object", OBJECT), Map.entry("array", ARRAY), Map.entry("string", STRING),
                Map.entry("number", NUMBER))) {
            if (keywords.stream().anyMatch(entry.getValue()::contains)) {
                types.add(entry.getKey());
            }
        }
        return types;
    }

    private static void alone(Set<String> keywords, String keyword, String pointer) {
        for (String k : keywords) {
            if (!k.equals(keyword)) {
                throw new SchemaException(at(pointer, k), "keyword '" + k + "' beside '" + keyword
                        + "' is not supported by structured output");
            }
        }
    }

    private List<String> types(JsonNode node, String pointer) {
        JsonNode type = node.get("type");
        if (type == null) {
            return List.of();
        }
        var types = new ArrayList<String>();
        if (type.isTextual()) {
            types.add(type.textValue());
        } else if (type.isArray() && !type.isEmpty()) {
            type.forEach(t -> types.add(t.asText()));
        } else {
            throw new SchemaException(at(pointer, "type"), "type must be a string or a non-empty array of strings");
        }
        for (String t : types) {
            if (!TYPES.contains(t)) {
                throw new SchemaException(at(pointer, "type"), "unknown type '" + t + "'");
            }
        }
        return types;
    }

    private Shape ref(JsonNode ref, String pointer) {
        if (!ref.isTextual() || !ref.textValue().startsWith("#")) {
            throw new SchemaException(pointer, "only $ref within the schema (starting with #) is supported");
        }
        return refs.computeIfAbsent(ref.textValue(), r -> add(new Shape.Ref()));
    }

    private Shape literal(JsonNode node, Set<String> keywords, List<String> types, String pointer) {
        for (String k : keywords) {
            if (!k.equals("type") && !k.equals("enum") && !k.equals("const")) {
                throw new SchemaException(at(pointer, k), "keyword '" + k + "' beside enum or const is not supported"
                        + " by structured output");
            }
        }
        var values = new ArrayList<JsonNode>();
        if (node.has("const")) {
            values.add(node.get("const"));
        }
        if (node.has("enum")) {
            JsonNode list = node.get("enum");
            if (!list.isArray() || list.isEmpty()) {
                throw new SchemaException(at(pointer, "enum"), "enum must be a non-empty array");
            }
            if (node.has("const")) {
                values.removeIf(v -> !contains(list, v));
            } else {
                list.forEach(values::add);
            }
        }
        values.removeIf(v -> !types.isEmpty() && types.stream().noneMatch(t -> hasType(v, t)));
        if (values.isEmpty()) {
            throw new SchemaException(at(pointer, node.has("enum") ? "enum" : "const"),
                    "no value of enum/const has the schema's type");
        }
        var texts = new LinkedHashSet<String>();
        values.forEach(v -> texts.add(v.toString()));
        return add(new Shape.Literal(texts.stream().map(SchemaCompiler::bytes).toArray(byte[][]::new)));
    }

    private static boolean contains(JsonNode list, JsonNode value) {
        for (JsonNode v : list) {
            if (v.equals(value)) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasType(JsonNode v, String type) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "number" -> v.isNumber();
            case "integer" -> v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0);
            case "boolean" -> v.isBoolean();
            default -> v.isNull();
        };
    }

    private Shape object(JsonNode node, String pointer) {
        JsonNode additionalNode = node.get("additionalProperties");
        Shape additional = additionalNode == null ? Frame.ANY
                : additionalNode.isBoolean() ? (additionalNode.booleanValue() ? Frame.ANY : null)
                : shape(additionalNode, at(pointer, "additionalProperties"));
        Set<String> required = new LinkedHashSet<>();
        JsonNode requiredNode = node.get("required");
        if (requiredNode != null) {
            if (!requiredNode.isArray()) {
                throw new SchemaException(at(pointer, "required"), "required must be an array of property names");
            }
            for (JsonNode name : requiredNode) {
                if (!name.isTextual() || !required.add(name.textValue())) {
                    throw new SchemaException(at(pointer, "required"), "required must be an array of distinct names");
                }
            }
        }
        var properties = new ArrayList<Shape.Property>();
        var declared = new HashSet<String>();
        JsonNode propertiesNode = node.get("properties");
        if (propertiesNode != null) {
            if (!propertiesNode.isObject()) {
                throw new SchemaException(at(pointer, "properties"), "properties must be an object");
            }
            for (var it = propertiesNode.fields(); it.hasNext(); ) {
                var field = it.next();
                Shape value = shape(field.getValue(), at(at(pointer, "properties"), field.getKey()));
                properties.add(property(field.getKey(), value, required.contains(field.getKey())));
                declared.add(field.getKey());
            }
        }
        for (String name : required) {
            if (!declared.contains(name)) {
                if (additional == null) {
                    throw new SchemaException(at(pointer, "required"), "'" + name + "' is required, but it is not"
                            + " in properties and additionalProperties is false");
                }
                properties.add(property(name, additional, true));
            }
        }
        Shape keys = Frame.ANY_STRING;
        if (node.has("propertyNames")) {
            keys = propertyNames(node.get("propertyNames"), at(pointer, "propertyNames"));
            for (Shape.Property p : properties) {
                if (!keyAllows(keys, p)) {
                    throw new SchemaException(at(pointer, "propertyNames"), "property '" + p.name()
                            + "' does not satisfy propertyNames");
                }
            }
        }
        return add(new Shape.Obj(properties, properties.isEmpty() ? additional : null, keys));
    }

    /** The keys' shape: a string schema (type, length, pattern, format, enum/const) and nothing else. */
    private Shape propertyNames(JsonNode node, String pointer) {
        if (node.isBoolean() && node.booleanValue()) {
            return Frame.ANY_STRING;
        }
        if (!node.isObject()) {
            throw new SchemaException(pointer, "propertyNames must be a string schema");
        }
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!ANNOTATIONS.contains(k) && !k.equals("type") && !k.equals("enum") && !k.equals("const")
                    && !STRING.contains(k)) {
                throw new SchemaException(at(pointer, k), "keyword '" + k + "' in propertyNames is not supported by"
                        + " structured output");
            }
        }
        JsonNode type = node.get("type");
        if (type != null && !(type.isTextual() && type.textValue().equals("string"))) {
            throw new SchemaException(at(pointer, "type"), "propertyNames must have type string");
        }
        ObjectNode withType = node.deepCopy();
        withType.put("type", "string");
        return shape(withType, pointer); // a Str, or a Literal of strings
    }

    private static boolean keyAllows(Shape keys, Shape.Property property) {
        if (keys instanceof Shape.Literal literal) {
            for (byte[] text : literal.texts) {
                if (Arrays.equals(text, property.key())) {
                    return true;
                }
            }
            return false;
        }
        return ((Shape.Str) keys).matches(property.name());
    }

    private static Shape.Property property(String name, Shape shape, boolean required) {
        return new Shape.Property(name, bytes(TextNode.valueOf(name).toString()), shape, required);
    }

    private Shape array(JsonNode node, String pointer) {
        var prefix = new ArrayList<Shape>();
        JsonNode prefixNode = node.get("prefixItems");
        if (prefixNode != null) {
            if (!prefixNode.isArray()) {
                throw new SchemaException(at(pointer, "prefixItems"), "prefixItems must be an array of schemas");
            }
            for (int i = 0; i < prefixNode.size(); i++) {
                prefix.add(shape(prefixNode.get(i), at(at(pointer, "prefixItems"), String.valueOf(i))));
            }
        }
        JsonNode itemsNode = node.get("items");
        Shape items;
        if (itemsNode == null || (itemsNode.isBoolean() && itemsNode.booleanValue())) {
            items = Frame.ANY;
        } else if (itemsNode.isBoolean()) {
            items = null;
        } else if (itemsNode.isArray()) {
            throw new SchemaException(at(pointer, "items"), "items as an array (draft 7 tuples) is not supported;"
                    + " use prefixItems");
        } else {
            items = shape(itemsNode, at(pointer, "items"));
        }
        int min = count(node, "minItems", pointer, 0);
        int max = count(node, "maxItems", pointer, Integer.MAX_VALUE);
        return add(new Shape.Arr(prefix, items, min, max));
    }

    private Shape string(JsonNode node, String pointer) {
        int minLength = count(node, "minLength", pointer, 0);
        int maxLength = count(node, "maxLength", pointer, Integer.MAX_VALUE);
        Regex.Dfa dfa = null;
        if (node.has("format")) {
            String name = node.get("format").asText();
            Formats.Format format = Formats.SUPPORTED.get(name);
            if (format != null) {
                for (String k : List.of("minLength", "maxLength", "pattern")) {
                    if (node.has(k)) {
                        throw new SchemaException(at(pointer, k), k + " beside format '" + name + "' is not supported"
                                + " by structured output");
                    }
                }
                return add(new Shape.Str(0, Integer.MAX_VALUE, format, null));
            }
            Formats.Pattern written = Formats.PATTERNS.get(name);
            if (written == null) {
                throw new SchemaException(at(pointer, "format"), "format '" + name + "' is not supported by structured"
                        + " output (supported: " + String.join(", ", Formats.names()) + ")");
            }
            dfa = Regex.compile(written.regex(), at(pointer, "format"));
            maxLength = Math.min(maxLength, written.maxLength());
        }
        String where = at(pointer, node.has("pattern") ? "pattern" : "format");
        if (node.has("pattern")) {
            if (!node.get("pattern").isTextual()) {
                throw new SchemaException(where, "pattern must be a string");
            }
            Regex.Dfa pattern = Regex.compile(node.get("pattern").textValue(), where);
            dfa = dfa == null ? pattern : Regex.intersect(dfa, pattern, where);
        }
        PatternText text = dfa == null ? null : PatternText.of(dfa, minLength, maxLength, where);
        return add(new Shape.Str(minLength, maxLength, null, text));
    }

    private Shape number(JsonNode node, String pointer, boolean integer) {
        if (node.has("format")) {
            String format = node.get("format").asText();
            if (!Set.of("int32", "int64", "float", "double").contains(format)) {
                throw new SchemaException(at(pointer, "format"), "format '" + format + "' is not supported for numbers");
            }
        }
        double low = Double.NEGATIVE_INFINITY;
        double high = Double.POSITIVE_INFINITY;
        boolean lowExclusive = false;
        boolean highExclusive = false;
        for (String k : List.of("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")) {
            JsonNode v = node.get(k);
            if (v == null) {
                continue;
            }
            if (!v.isNumber()) {
                throw new SchemaException(at(pointer, k), k + " must be a number");
            }
            double d = v.doubleValue();
            switch (k) {
                case "minimum" -> low = d > low ? d : low;
                case "exclusiveMinimum" -> {
                    if (d >= low) {
                        low = d;
                        lowExclusive = true;
                    }
                }
                case "maximum" -> high = d < high ? d : high;
                default -> {
                    if (d <= high) {
                        high = d;
                        highExclusive = true;
                    }
                }
            }
        }
        boolean bounded = low != Double.NEGATIVE_INFINITY || high != Double.POSITIVE_INFINITY;
        long lowInt = (long) Math.max(-Shape.Num.LIMIT, lowExclusive ? Math.floor(low) + 1 : Math.ceil(low));
        long highInt = (long) Math.min(Shape.Num.LIMIT, highExclusive ? Math.ceil(high) - 1 : Math.floor(high));
        if (bounded && lowInt > highInt) {
            throw new SchemaException(pointer, "structured output writes bounded numbers with an integer part in range,"
                    + " and no integer lies between " + low + " and " + high);
        }
        return add(new Shape.Num(integer, bounded, lowInt, highInt, low, high, lowExclusive, highExclusive));
    }

    private static int count(JsonNode node, String keyword, String pointer, int absent) {
        JsonNode v = node.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0) {
            throw new SchemaException(at(pointer, keyword), keyword + " must be a non-negative integer");
        }
        return v.intValue();
    }

    private static String at(String pointer, String token) {
        return pointer + "/" + token.replace("~", "~0").replace("/", "~1");
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
