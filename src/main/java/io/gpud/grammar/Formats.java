package io.gpud.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The string formats structured output writes. Dates, times and UUIDs are a few fixed-length
 * templates, a template being one set of allowed characters per position; dates use days 01
 * to 28 only, so every date written exists in every month; times are UTC ({@code Z}) without
 * fractions. The others are patterns ({@link #PATTERNS}), compiled as {@code pattern} is and
 * intersected with one given beside them: each writes a practical subset of its format that
 * strict validators accept.
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

    /** A format written as the strings a regular expression matches, at most {@code maxLength} code points. */
    record Pattern(String regex, int maxLength) {
    }

    /** Top-level domains that validators checking against the IANA list know; generated hosts end in one. */
    private static final String TLD = "(?:com|org|net|edu|gov|io|dev|ai|app|co|uk|de|fr|jp|nl|info)";
    private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

    /**
     * email: a dot-atom local part of letters, digits and {@code _+-}, then a host name, at
     * most 64 characters; hostname: dot-separated labels of at most 63 characters ending in a
     * known top-level domain, at most 253; ipv4: dotted decimal without leading zeros; uri:
     * {@code scheme://host} with an optional path and query of unreserved and sub-delimiter
     * characters (no percent-encoding, no fragment), at most 512.
     */
    static final Map<String, Pattern> PATTERNS = Map.of(
            "email", new Pattern("^[A-Za-z0-9_+-]+(?:\\.[A-Za-z0-9_+-]+)*@(?:" + LABEL + "\\.)+" + TLD + "$", 64),
            "hostname", new Pattern("^(?:" + LABEL + "\\.)*" + LABEL + "\\." + TLD + "$", 253),
            "ipv4", new Pattern("^(?:" + OCTET + "\\.){3}" + OCTET + "$", 15),
            "uri", new Pattern("^[a-z][a-z0-9+.-]*://(?:" + LABEL + "\\.)*" + LABEL
                    + "(?:/[A-Za-z0-9._~!$&'()*+,;=:@-]*)*(?:\\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$", 512));

    /** Every supported format's name, sorted. */
    static List<String> names() {
        var names = new ArrayList<>(SUPPORTED.keySet());
        names.addAll(PATTERNS.keySet());
        names.sort(null);
        return names;
    }

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
