package io.gpud.metrics;

import java.util.Arrays;

/** Label values of one series, compared by value. */
record Labels(String[] values) {

    static final Labels NONE = new Labels(new String[0]);

    static Labels of(String[] names, String... values) {
        if (values.length != names.length) {
            throw new IllegalArgumentException(
                    "expected " + names.length + " label values " + Arrays.toString(names) + ", got " + values.length);
        }
        return new Labels(values.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Labels other && Arrays.equals(values, other.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    /** {@code {a="x",b="y"}} with an extra label appended, or empty when there is none. */
    void write(StringBuilder out, String[] names, String extraName, String extraValue) {
        if (names.length == 0 && extraName == null) {
            return;
        }
        out.append('{');
        for (int i = 0; i < names.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(names[i]).append("=\"");
            escape(out, values[i]);
            out.append('"');
        }
        if (extraName != null) {
            if (names.length > 0) {
                out.append(',');
            }
            out.append(extraName).append("=\"").append(extraValue).append('"');
        }
        out.append('}');
    }

    private static void escape(StringBuilder out, String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
    }

    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }
}
