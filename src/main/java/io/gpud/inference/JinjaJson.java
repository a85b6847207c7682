package io.gpud.inference;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * JSON text of template values as {@code @huggingface/jinja}'s {@code tojson} writes it:
 * {@code ", "} and {@code ": "} between items on one line, or {@code ","} and newlines with
 * {@code indent} spaces per level; strings escaped as JavaScript's {@code JSON.stringify}
 * escapes them (quote, backslash, control characters; everything else as is, unless
 * {@code ensureAscii}); integers without a fraction; keys in insertion order unless sorted.
 * The text stops at {@code maxChars} and the nesting at {@link JinjaBudget#MAX_VALUE_DEPTH}
 * (so a namespace holding itself ends too), each with an {@link IllegalArgumentException}.
 */
final class JinjaJson {

    private JinjaJson() {
    }

    /**
     * @param undefinedAsNull whether an undefined value writes as {@code null} ({@code tojson})
     *                        or as {@code undefined} (lists and mappings printed into text)
     * @param maxChars        the longest text allowed; a longer one is refused before it is built
     */
    static String write(Object value, long indent, boolean ensureAscii, boolean sortKeys, String[] separators,
                        boolean undefinedAsNull, long maxChars) {
        long limit = Math.min(maxChars, Integer.MAX_VALUE - 8); // what a StringBuilder holds
        if (indent < 0 || indent > limit) {
            throw new IllegalArgumentException("tojson's indent was " + indent + ", must be in [0, " + limit + "]");
        }
        var out = new Output(new StringBuilder(), limit);
        String itemSeparator = separators != null ? separators[0] : indent > 0 ? "," : ", ";
        String keySeparator = separators != null ? separators[1] : ": ";
        write(value, (int) indent, 0, ensureAscii, sortKeys, itemSeparator, keySeparator, undefinedAsNull, out);
        return out.text.toString();
    }

    /** Text being written, refused once it passes {@code maxChars}. */
    private record Output(StringBuilder text, long maxChars) {
        StringBuilder check(long more) {
            if (text.length() + more > maxChars) {
                throw new IllegalArgumentException("the JSON text of a value passed " + maxChars + " characters");
            }
            return text;
        }
    }

    private static void write(Object value, int indent, int depth, boolean ensureAscii, boolean sortKeys,
                              String itemSeparator, String keySeparator, boolean undefinedAsNull, Output output) {
        JinjaBudget.checkValueDepth(depth);
        StringBuilder out = output.check((long) indent * (depth + 1) + 32);
        switch (value) {
            case null -> out.append("null");
            case String s -> string(s, ensureAscii, output.check(s.length()));
            case Long l -> out.append(l);
            case Double d -> out.append(d.isNaN() || d.isInfinite() ? "null" : number(d));
            case Boolean b -> out.append(b);
            case List<?> list -> {
                String base = "\n" + " ".repeat(indent * depth);
                String child = base + " ".repeat(indent);
                out.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) {
                        output.check(itemSeparator.length()).append(itemSeparator);
                    }
                    if (indent > 0) {
                        output.check(child.length()).append(child);
                    }
                    write(list.get(i), indent, depth + 1, ensureAscii, sortKeys, itemSeparator, keySeparator,
                            undefinedAsNull, output);
                }
                if (indent > 0 && !list.isEmpty()) {
                    out.append(base);
                }
                out.append(']');
            }
            case Map<?, ?> map -> writeMap(map, indent, depth, ensureAscii, sortKeys, itemSeparator, keySeparator,
                    undefinedAsNull, output);
            case JinjaRuntime.Namespace ns -> writeMap(ns.values, indent, depth, ensureAscii, sortKeys, itemSeparator,
                    keySeparator, undefinedAsNull, output);
            default -> {
                if (value == JinjaRuntime.UNDEFINED) {
                    out.append(undefinedAsNull ? "null" : "undefined");
                } else {
                    throw new IllegalArgumentException("cannot write a " + JinjaRuntime.typeName(value) + " as JSON");
                }
            }
        }
    }

    private static void writeMap(Map<?, ?> map, int indent, int depth, boolean ensureAscii, boolean sortKeys,
                                 String itemSeparator, String keySeparator, boolean undefinedAsNull, Output output) {
        StringBuilder out = output.text();
        String base = "\n" + " ".repeat(indent * depth);
        String child = base + " ".repeat(indent);
        List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
        if (sortKeys) {
            entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
        }
        out.append('{');
        boolean first = true;
        for (var entry : entries) {
            String key = String.valueOf(entry.getKey());
            output.check(itemSeparator.length() + child.length() + key.length() + keySeparator.length() + 2);
            if (!first) {
                out.append(itemSeparator);
            }
            first = false;
            if (indent > 0) {
                out.append(child);
            }
            string(key, ensureAscii, out);
            out.append(keySeparator);
            write(entry.getValue(), indent, depth + 1, ensureAscii, sortKeys, itemSeparator, keySeparator,
                    undefinedAsNull, output);
        }
        if (indent > 0 && !map.isEmpty()) {
            out.append(base);
        }
        out.append('}');
    }

    private static void string(String s, boolean ensureAscii, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    boolean loneSurrogate = Character.isHighSurrogate(c)
                            ? i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))
                            : Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
                    if (c < 0x20 || loneSurrogate || (ensureAscii && c >= 0x7f)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * A double as JavaScript writes a number: {@code 2}, {@code 0.25}, {@code 1e+21},
     * {@code 1.5e-7}, {@code Infinity}, {@code NaN}.
     */
    static String number(double d) {
        if (d == 0) {
            return "0";
        }
        if (!Double.isFinite(d)) {
            return Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        }
        double magnitude = Math.abs(d);
        String shortest = Double.toString(d);
        if (magnitude >= 1e21 || magnitude < 1e-6) {
            var decimal = new BigDecimal(shortest).stripTrailingZeros();
            String digits = decimal.unscaledValue().abs().toString();
            int exponent = digits.length() - 1 - decimal.scale();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent >= 0 ? "+" : "-") + Math.abs(exponent);
        }
        return new BigDecimal(shortest).stripTrailingZeros().toPlainString();
    }
}
