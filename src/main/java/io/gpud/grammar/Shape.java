package io.gpud.grammar;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What a JSON value must look like, compiled from a schema: the automaton ({@link Frame})
 * walks these. Each shape knows {@link #minBytes}, the length of its shortest document,
 * which the token budget is computed from; {@link SchemaCompiler} sets it (a fixpoint over
 * {@code $ref} cycles) once the whole graph is built.
 */
abstract sealed class Shape {
    static final int UNREACHABLE = Integer.MAX_VALUE / 4;

    /** Bytes of the shortest value of this shape (UNREACHABLE while unknown or when there is none). */
    int minBytes = UNREACHABLE;

    /** Recomputes {@link #minBytes} from the parts' current values; true when it changed. */
    abstract boolean update();

    /** Any JSON value (objects with any keys, arrays of anything). */
    static final class Any extends Shape {
        @Override
        boolean update() {
            boolean changed = minBytes != 1;
            minBytes = 1; // 0
            return changed;
        }
    }

    /** A property of an object shape; {@code key} is the JSON text of its name, quotes included. */
    record Property(String name, byte[] key, Shape shape, boolean required) {
    }

    /**
     * An object: the declared properties in declared order (a required one may not be
     * skipped), or, when none are declared and {@code additional} is not null, any keys of
     * shape {@code keys} (a string shape: propertyNames) whose values have shape
     * {@code additional}.
     */
    static final class Obj extends Shape {
        final List<Property> properties;
        final Shape additional;          // values of undeclared keys, or null for none
        final Shape keys;                // undeclared keys: a Str or a Literal of strings
        int[] requiredTail;              // (properties + 1) bytes of ",key:value" of the required ones from i on
        int[] afterComma;                // (properties + 1) bytes after a comma, from property i on

        Obj(List<Property> properties, Shape additional, Shape keys) {
            this.properties = properties;
            this.additional = additional;
            this.keys = keys;
            this.requiredTail = new int[properties.size() + 1];
            this.afterComma = new int[properties.size() + 1];
        }

        boolean free() {
            return properties.isEmpty() && additional != null;
        }

        /** The last property that may come next when the next one to consider is {@code i}. */
        int lastCandidate(int i) {
            for (int j = i; j < properties.size(); j++) {
                if (properties.get(j).required()) {
                    return j;
                }
            }
            return properties.size() - 1;
        }

        boolean requiredFrom(int i) {
            return requiredTail[i] > 0;
        }

        /** Bytes of property {@code j} as a member without its comma: key, colon, value. */
        int member(int j) {
            return sat(properties.get(j).key().length + 1 + properties.get(j).shape().minBytes);
        }

        @Override
        boolean update() {
            int n = properties.size();
            int[] tail = new int[n + 1];
            for (int i = n - 1; i >= 0; i--) {
                tail[i] = properties.get(i).required() ? sat(tail[i + 1] + 1 + member(i)) : tail[i + 1];
            }
            int[] comma = new int[n + 1];
            comma[n] = UNREACHABLE;
            for (int i = 0; i < n; i++) {
                int best = UNREACHABLE;
                for (int j = i; j <= lastCandidate(i); j++) {
                    best = Math.min(best, sat(member(j) + tail[j + 1] + 1));
                }
                comma[i] = best;
            }
            if (free()) {
                comma[0] = sat((long) keys.minBytes + 1 + additional.minBytes + 1);
            }
            int min = sat(2 + Math.max(0, tail[0] - 1));
            boolean changed = min != minBytes || !java.util.Arrays.equals(tail, requiredTail)
                    || !java.util.Arrays.equals(comma, afterComma);
            minBytes = min;
            requiredTail = tail;
            afterComma = comma;
            return changed;
        }
    }

    /** An array: {@code prefix} items first, then {@code items} (null: nothing after the prefix). */
    static final class Arr extends Shape {
        final List<Shape> prefix;
        final Shape items;
        final int minItems;
        final int maxItems;

        Arr(List<Shape> prefix, Shape items, int minItems, int maxItems) {
            this.prefix = prefix;
            this.items = items;
            this.minItems = minItems;
            this.maxItems = items == null ? Math.min(maxItems, prefix.size()) : maxItems;
        }

        Shape item(int index) {
            return index < prefix.size() ? prefix.get(index) : items;
        }

        /** Bytes of ",item" for the items still needed from {@code index} on to reach minItems. */
        int needed(int index) {
            long sum = 0;
            for (int k = index; k < Math.min(minItems, prefix.size()); k++) {
                sum += 1 + prefix.get(k).minBytes;
            }
            int rest = minItems - Math.max(index, prefix.size());
            if (rest > 0) {
                sum += (long) rest * (1 + items.minBytes);
            }
            return sat(sum);
        }

        @Override
        boolean update() {
            int min = minItems > maxItems ? UNREACHABLE : sat(2L + Math.max(0, needed(0) - 1));
            boolean changed = min != minBytes;
            minBytes = min;
            return changed;
        }
    }

    /**
     * A string of {@code minLength..maxLength} code points, one of a format's templates, or a
     * text a pattern allows (with its own length bounds).
     */
    static final class Str extends Shape {
        final int minLength;
        final int maxLength;
        final Formats.Format format; // null for free text
        final PatternText pattern;   // null for free text

        Str(int minLength, int maxLength, Formats.Format format, PatternText pattern) {
            this.minLength = minLength;
            this.maxLength = maxLength;
            this.format = format;
            this.pattern = pattern;
        }

        /** Whether the string {@code text} is one of this shape's. */
        boolean matches(String text) {
            if (pattern != null) {
                return pattern.matches(text);
            }
            if (format != null) {
                byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
                for (int t = 0; t < format.templates().size() && bytes.length == format.length(); t++) {
                    boolean all = true;
                    for (int i = 0; i < bytes.length && all; i++) {
                        all = format.allows(t, i, bytes[i] & 0xFF);
                    }
                    if (all) {
                        return true;
                    }
                }
                return false;
            }
            int length = text.codePointCount(0, text.length());
            return length >= minLength && length <= maxLength;
        }

        @Override
        boolean update() {
            int min = format != null ? format.length() + 2 : pattern != null ? sat(2L + pattern.finish(0, 0))
                    : minLength > maxLength ? UNREACHABLE : sat(2L + minLength);
            boolean changed = min != minBytes;
            minBytes = min;
            return changed;
        }
    }

    /**
     * A number. Without bounds any JSON number (at most 16 integer digits, 16 fraction digits,
     * 2 exponent digits); with bounds an integer in {@code [low, high]}, or, for {@code number},
     * a decimal whose integer part keeps every fraction in range.
     */
    static final class Num extends Shape {
        static final long LIMIT = 9_999_999_999_999_999L; // 16 digits

        final boolean integer;
        final boolean bounded;
        final long low;          // least integer allowed
        final long high;         // greatest integer allowed
        final double realLow;    // the schema's bounds, for fractions
        final double realHigh;
        final boolean lowExclusive;
        final boolean highExclusive;

        Num(boolean integer, boolean bounded, long low, long high, double realLow, double realHigh,
            boolean lowExclusive, boolean highExclusive) {
            this.integer = integer;
            this.bounded = bounded;
            this.low = low;
            this.high = high;
            this.realLow = realLow;
            this.realHigh = realHigh;
            this.lowExclusive = lowExclusive;
            this.highExclusive = highExclusive;
        }

        @Override
        boolean update() {
            int min;
            if (!bounded) {
                min = 1;
            } else if (low > high) {
                min = UNREACHABLE;
            } else if (low <= 0 && high >= 0) {
                min = 1;
            } else if (low > 0) {
                min = Long.toString(low).length();
            } else {
                min = Long.toString(high).length();
            }
            boolean changed = min != minBytes;
            minBytes = min;
            return changed;
        }
    }

    /** One of a fixed set of JSON texts (enum, const, true, false, null), written compactly. */
    static final class Literal extends Shape {
        final byte[][] texts;

        Literal(byte[][] texts) {
            this.texts = texts;
        }

        @Override
        boolean update() {
            int min = UNREACHABLE;
            for (byte[] text : texts) {
                min = Math.min(min, text.length);
            }
            boolean changed = min != minBytes;
            minBytes = min;
            return changed;
        }
    }

    /** Any of the alternatives (anyOf; oneOf and type arrays compile to this too). */
    static final class Union extends Shape {
        final List<Shape> alternatives;

        Union(List<Shape> alternatives) {
            this.alternatives = alternatives;
        }

        @Override
        boolean update() {
            int min = UNREACHABLE;
            for (Shape s : alternatives) {
                min = Math.min(min, s.minBytes);
            }
            boolean changed = min != minBytes;
            minBytes = min;
            return changed;
        }
    }

    /** A {@code $ref}, resolved after the whole schema is read (it may be recursive). */
    static final class Ref extends Shape {
        Shape target;

        @Override
        boolean update() {
            boolean changed = target.minBytes != minBytes;
            minBytes = target.minBytes;
            return changed;
        }
    }

    static int sat(long bytes) {
        return (int) Math.min(bytes, UNREACHABLE);
    }
}
