package io.gpud.grammar;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A string's text as a pattern ({@link Regex.Dfa}) and a length in code points allow it, with
 * the shortest finish from every (pattern state, code points written) pair in bytes of the
 * JSON string's content, so the token budget holds inside such strings as it does elsewhere.
 *
 * <p>Each character is written as JSON writes it: raw UTF-8, except {@code "} and
 * {@code \} (escaped by a backslash) and controls (a short escape such as <code>&#92;n</code>
 * or <code>&#92;u00XX</code>); <code>&#92;/</code> is read too. The count of code points is
 * kept up to {@code maxLength}, or, without one, up to {@code minLength} (beyond it the
 * count no longer matters), so the table has states × (that bound + 1) entries, at most
 * {@value #TABLE_MAX}.
 */
final class PatternText {
    static final int TABLE_MAX = 1 << 20;

    final Regex.Dfa dfa;
    final int minLength;
    final int maxLength;       // Integer.MAX_VALUE: none
    private final int cap;     // the greatest count kept
    private final int[] finish; // [state * (cap + 1) + count]: bytes of the shortest finish, quote excluded

    private PatternText(Regex.Dfa dfa, int minLength, int maxLength) {
        this.dfa = dfa;
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.cap = maxLength == Integer.MAX_VALUE ? minLength : maxLength;
        this.finish = new int[dfa.states() * (cap + 1)];
    }

    /** The text of {@code dfa} with {@code minLength..maxLength} code points; refused at {@code pointer} when none is. */
    static PatternText of(Regex.Dfa dfa, int minLength, int maxLength, String pointer) {
        if ((long) dfa.states() * ((maxLength == Integer.MAX_VALUE ? minLength : maxLength) + 1L) > TABLE_MAX) {
            throw new SchemaException(pointer, "pattern with a length bound of " + Math.min(minLength, maxLength)
                    + ".." + maxLength + " needs more than " + TABLE_MAX + " automaton states, more than structured"
                    + " output compiles");
        }
        var text = new PatternText(dfa, minLength, maxLength);
        text.fill();
        if (text.finish(0, 0) >= Shape.UNREACHABLE) {
            throw new SchemaException(pointer, "no string of " + minLength + ".." + (maxLength == Integer.MAX_VALUE
                    ? "" : maxLength) + " characters that structured output writes matches the pattern");
        }
        return text;
    }

    private void fill() {
        int states = dfa.states();
        Arrays.fill(finish, Shape.UNREACHABLE);
        for (int s = 0; s < states; s++) {
            finish[s * (cap + 1) + cap] = accepts(s, cap) ? 0 : Shape.UNREACHABLE;
        }
        if (maxLength == Integer.MAX_VALUE) {
            // beyond minLength the count stays at cap: shortest paths within the automaton
            for (boolean changed = true; changed; ) {
                changed = false;
                for (int s = 0; s < states; s++) {
                    int best = step(s, cap);
                    if (best < finish[s * (cap + 1) + cap]) {
                        finish[s * (cap + 1) + cap] = best;
                        changed = true;
                    }
                }
            }
        }
        for (int count = cap - 1; count >= 0; count--) {
            for (int s = 0; s < states; s++) {
                finish[s * (cap + 1) + count] = Math.min(accepts(s, count) ? 0 : Shape.UNREACHABLE, step(s, count));
            }
        }
    }

    /** The shortest finish through one more character from ({@code state}, {@code count}). */
    private int step(int state, int count) {
        int next = after(count);
        if (next < 0) {
            return Shape.UNREACHABLE;
        }
        int[] r = dfa.ranges()[state];
        int best = Shape.UNREACHABLE;
        for (int i = 0; i < dfa.targets()[state].length; i++) {
            best = Math.min(best, Shape.sat((long) cheapest(r[2 * i], r[2 * i + 1])
                    + finish(dfa.targets()[state][i], next)));
        }
        return best;
    }

    /** The count after one more character, or -1 past maxLength. */
    int after(int count) {
        if (maxLength == Integer.MAX_VALUE) {
            return Math.min(count + 1, cap);
        }
        return count + 1 > maxLength ? -1 : count + 1;
    }

    /** Whether the string may close here. */
    boolean accepts(int state, int count) {
        return dfa.accepting()[state] && count >= minLength;
    }

    /** Bytes of the shortest finish of the content from a character boundary (closing quote excluded). */
    int finish(int state, int count) {
        return finish[state * (cap + 1) + count];
    }

    /**
     * The shortest finish once a character in {@code lo..hi} is written from ({@code state},
     * {@code count}), not counting the bytes of that character.
     */
    int through(int state, int count, int lo, int hi) {
        int next = after(count);
        if (next < 0 || lo > hi) {
            return Shape.UNREACHABLE;
        }
        int[] r = dfa.ranges()[state];
        int best = Shape.UNREACHABLE;
        for (int i = 0; i < dfa.targets()[state].length; i++) {
            if (r[2 * i] <= hi && r[2 * i + 1] >= lo) {
                best = Math.min(best, finish(dfa.targets()[state][i], next));
            }
        }
        return best;
    }

    /** Code points by the bytes they take in a JSON string as written here: {lo, hi, bytes}. */
    private static final int[][] BANDS = {{0, 7, 6}, {'\b', '\n', 2}, {0x0B, 0x0B, 6}, {'\f', '\r', 2}, {0x0E, 0x1F, 6},
        {0x20, 0x21, 1}, {'"', '"', 2}, {0x23, 0x5B, 1}, {'\\', '\\', 2}, {0x5D, 0x7F, 1}, {0x80, 0x7FF, 2},
        {0x800, 0xFFFF, 3}, {0x10000, 0x10FFFF, 4}};

    /** Bytes of the shortest JSON encoding of a code point in {@code lo..hi}. */
    static int cheapest(int lo, int hi) {
        return BANDS[cheapestBand(lo, hi)][2];
    }

    /** The least code point in {@code lo..hi} of the shortest encoding. */
    static int cheapestCodePoint(int lo, int hi) {
        return Math.max(lo, BANDS[cheapestBand(lo, hi)][0]);
    }

    private static int cheapestBand(int lo, int hi) {
        int best = -1;
        for (int i = 0; i < BANDS.length; i++) {
            if (BANDS[i][0] <= hi && BANDS[i][1] >= lo && (best < 0 || BANDS[i][2] < BANDS[best][2])) {
                best = i;
            }
        }
        return best;
    }

    /** Bytes of a code point in a JSON string as written here. */
    static int bytes(int cp) {
        return cheapest(cp, cp);
    }

    /**
     * The bytes beyond printable ASCII that a shortest finish may need as tokens of their own:
     * those of the cheapest character of each move that has no cheaper ASCII one, and, when
     * that character is not ASCII, every UTF-8 continuation byte.
     */
    boolean[] bytesNeeded() {
        boolean[] needed = new boolean[256];
        for (int s = 0; s < dfa.states(); s++) {
            int[] r = dfa.ranges()[s];
            for (int i = 0; i < dfa.targets()[s].length; i++) {
                int cp = cheapestCodePoint(r[2 * i], r[2 * i + 1]);
                if (cp >= 0x7F) {
                    for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                        needed[b & 0xFF] = true;
                    }
                }
                if (cp >= 0x80) {
                    Arrays.fill(needed, 0x80, 0xC0, true);
                }
            }
        }
        return needed;
    }

    /** Whether {@code text} is a string this allows. */
    boolean matches(String text) {
        int length = text.codePointCount(0, text.length());
        return length >= minLength && length <= maxLength && Regex.matches(dfa, text);
    }
}
