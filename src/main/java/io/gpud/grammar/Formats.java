package io.gpud.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The string formats structured output writes: each is a few fixed-length templates, a
 * template being one set of allowed characters per position. Dates use days 01 to 28 only,
 * so every date written exists in every month; times are UTC ({@code Z}) without fractions.
 */
final class Formats {
    private Formats() {
    }

    /** Templates of equal length; at most 64, so which are still possible fits in a long. */
    record Format(String name, List<String[]> templates) {
        int length() {
            return templates.getFirst().length;
        }

        /** Whether template {@code t} allows {@code b} at {@code position}. */
        boolean allows(int t, int position, int b) {
            return templates.get(t)[position].indexOf(b) >= 0;
        }
    }

    private static final String DIGIT = "0123456789";
    private static final String HEX = "0123456789abcdef";

    private static final List<List<String>> YEAR = List.of(List.of(DIGIT, DIGIT, DIGIT, DIGIT));
    private static final List<List<String>> MONTH = List.of(List.of("0", "123456789"), List.of("1", "012"));
    private static final List<List<String>> DAY = List.of(List.of("0", "123456789"), List.of("1", DIGIT),
            List.of("2", "012345678"));
    private static final List<List<String>> HOUR = List.of(List.of("01", DIGIT), List.of("2", "0123"));
    private static final List<List<String>> SIXTY = List.of(List.of("012345", DIGIT));

    static final Map<String, Format> SUPPORTED = Map.of(
            "date", format("date", YEAR, lit("-"), MONTH, lit("-"), DAY),
            "time", format("time", HOUR, lit(":"), SIXTY, lit(":"), SIXTY, lit("Z")),
            "date-time", format("date-time", YEAR, lit("-"), MONTH, lit("-"), DAY, lit("T"), HOUR, lit(":"), SIXTY,
                    lit(":"), SIXTY, lit("Z")),
            "uuid", format("uuid", hex(8), lit("-"), hex(4), lit("-"), hex(4), lit("-"), hex(4), lit("-"), hex(12)));

    private static List<List<String>> lit(String text) {
        return List.of(List.of(text));
    }

    private static List<List<String>> hex(int n) {
        return List.of(java.util.Collections.nCopies(n, HEX));
    }

    /** The cross product of the parts' alternatives, each alternative a run of positions. */
    @SafeVarargs
    private static Format format(String name, List<List<String>>... parts) {
        List<List<String>> templates = List.of(List.of());
        for (List<List<String>> part : parts) {
            var next = new ArrayList<List<String>>();
            for (List<String> prefix : templates) {
                for (List<String> alternative : part) {
                    var joined = new ArrayList<>(prefix);
                    joined.addAll(alternative);
                    next.add(joined);
                }
            }
            templates = next;
        }
        return new Format(name, templates.stream().map(t -> t.toArray(String[]::new)).toList());
    }
}
