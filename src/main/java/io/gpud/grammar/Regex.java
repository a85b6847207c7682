package io.gpud.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.TreeSet;

/**
 * JSON Schema's {@code pattern}: the ECMA-262 regular expressions schema writers use,
 * compiled to a deterministic automaton over code points ({@link Dfa}).
 *
 * <p>Supported: literal characters and escapes (<code>&#92;d &#92;w &#92;s &#92;D &#92;W &#92;S</code>,
 * <code>&#92;t &#92;n &#92;r &#92;f &#92;v &#92;0</code>, <code>&#92;xHH</code>, <code>&#92;uHHHH</code>
 * (surrogate pairs joined), an escaped punctuation character), classes with ranges and
 * negation, {@code .}, groups (capturing, named, {@code (?:}), alternation, the quantifiers
 * {@code ? * + {n} {n,} {n,m}} and their lazy forms (the same language), {@code ^} at the
 * start and {@code $} at the end of a top-level alternative. A side without its anchor is
 * open, as JSON Schema says a pattern matches anywhere in the string: any text may come
 * before or after. Refused by the schema pointer: backreferences, lookaround, word
 * boundaries, Unicode property escapes, anchors elsewhere, and automata beyond
 * {@value #NFA_MAX} or {@value #DFA_MAX} states.
 *
 * <p>What is generated is a subset of what the pattern matches, chosen so that it also
 * matches under java.util.regex (which validators on the JVM use): the characters a JSON
 * string must escape ({@code "}, {@code \}, controls) come only where the pattern names
 * them (a literal, an escape, a positive class's member or range), never from {@code .},
 * a negated class or a shorthand escape; <code>&#92;s</code> writes a space only;
 * {@code .} writes no line terminator.
 */
final class Regex {
    static final int NFA_MAX = 8192;
    static final int DFA_MAX = 4096;
    private static final int REPEAT_MAX = 1000;

    /** Every code point but the surrogates, which are not characters. */
    static final int[] ALL = {0, 0xD7FF, 0xE000, 0x10FFFF};
    /** What a JSON string must escape. */
    static final int[] ESCAPED = {0, 0x1F, '"', '"', '\\', '\\'};
    private static final int[] DIGIT = {'0', '9'};
    private static final int[] WORD = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
    private static final int[] SPACE = {'\t', '\r', ' ', ' ', 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
        0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF};
    /** What {@code .} and the open sides of an unanchored pattern write. */
    static final int[] BROAD = minus(ALL, union(ESCAPED, new int[] {0x85, 0x85, 0x2028, 0x2029}));

    private Regex() {
    }

    /** A deterministic automaton over code points; state 0 starts, every state can still reach acceptance. */
    record Dfa(boolean[] accepting, int[][] ranges, int[][] targets) {
        int states() {
            return accepting.length;
        }

        /** The state after code point {@code cp}, or -1. */
        int next(int state, int cp) {
            int[] r = ranges[state];
            for (int i = 0; i < targets[state].length; i++) {
                if (cp >= r[2 * i] && cp <= r[2 * i + 1]) {
                    return targets[state][i];
                }
            }
            return -1;
        }
    }

    // ------------------------------------------------------------------ sets of code points

    /** Sorted, disjoint, non-adjacent ranges {lo, hi, lo, hi, ...} from any ranges. */
    static int[] normalize(int[] pairs) {
        int n = pairs.length / 2;
        long[] sorted = new long[n];
        for (int i = 0; i < n; i++) {
            sorted[i] = ((long) pairs[2 * i] << 32) | pairs[2 * i + 1];
        }
        Arrays.sort(sorted);
        int[] out = new int[pairs.length];
        int size = 0;
        for (long range : sorted) {
            int lo = (int) (range >>> 32);
            int hi = (int) range;
            if (size > 0 && lo <= out[size - 1] + 1) {
                out[size - 1] = Math.max(out[size - 1], hi);
            } else {
                out[size++] = lo;
                out[size++] = hi;
            }
        }
        return Arrays.copyOf(out, size);
    }

    static int[] union(int[] a, int[] b) {
        int[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return normalize(both);
    }

    static int[] complement(int[] set) {
        return minus(ALL, set);
    }

    static int[] intersect(int[] a, int[] b) {
        var out = new ArrayList<Integer>();
        for (int i = 0, j = 0; i < a.length && j < b.length; ) {
            int lo = Math.max(a[i], b[j]);
            int hi = Math.min(a[i + 1], b[j + 1]);
            if (lo <= hi) {
                out.add(lo);
                out.add(hi);
            }
            if (a[i + 1] < b[j + 1]) {
                i += 2;
            } else {
                j += 2;
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static int[] minus(int[] a, int[] b) {
        var complement = new ArrayList<Integer>();
        int from = 0;
        for (int i = 0; i < b.length; i += 2) {
            if (b[i] > from) {
                complement.add(from);
                complement.add(b[i] - 1);
            }
            from = b[i + 1] + 1;
        }
        complement.add(from);
        complement.add(0x10FFFF);
        return intersect(a, complement.stream().mapToInt(Integer::intValue).toArray());
    }

    // ------------------------------------------------------------------ syntax

    private sealed interface Node {
    }

    private record Chars(int[] set) implements Node {
    }

    private record Seq(List<Node> parts) implements Node {
    }

    private record Alt(List<Node> alternatives) implements Node {
    }

    private record Repeat(Node node, int min, int max) implements Node { // max -1: unbounded
    }

    /** Compiles {@code pattern}; errors are a {@link SchemaException} at {@code pointer}. */
    static Dfa compile(String pattern, String pointer) {
        var parser = new Parser(pattern, pointer);
        Node node = parser.top();
        var nfa = new Nfa(pointer);
        int[] fragment = nfa.build(node);
        return prune(determinize(nfa, fragment[0], fragment[1], pointer));
    }

    private static final class Parser {
        private final String text;
        private final String pointer;
        private int at;
        private int depth;

        Parser(String text, String pointer) {
            this.text = text;
            this.pointer = pointer;
        }

        private SchemaException error(String what) {
            return new SchemaException(pointer, "pattern: " + what + " (at offset " + at + " of the pattern) is not"
                    + " supported by structured output");
        }

        private SchemaException invalid(String what) {
            return new SchemaException(pointer, "pattern: " + what + " at offset " + at);
        }

        /** The whole pattern: alternatives, each anchored or open at either end. */
        Node top() {
            var alternatives = new ArrayList<Node>();
            do {
                boolean start = eat('^');
                Node body = sequence();
                boolean end = eat('$');
                if (at < text.length() && text.charAt(at) != '|') {
                    throw error(text.charAt(at) == ')' ? "an unbalanced ')'" : "'$' before the end");
                }
                var parts = new ArrayList<Node>();
                if (!start) {
                    parts.add(new Repeat(new Chars(BROAD), 0, -1));
                }
                parts.add(body);
                if (!end) {
                    parts.add(new Repeat(new Chars(BROAD), 0, -1));
                }
                alternatives.add(new Seq(parts));
            } while (eat('|'));
            return alternatives.size() == 1 ? alternatives.getFirst() : new Alt(alternatives);
        }

        private boolean eat(char c) {
            if (at < text.length() && text.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private Node alternation() {
            var alternatives = new ArrayList<Node>();
            alternatives.add(sequence());
            while (eat('|')) {
                alternatives.add(sequence());
            }
            return alternatives.size() == 1 ? alternatives.getFirst() : new Alt(alternatives);
        }

        private Node sequence() {
            var parts = new ArrayList<Node>();
            while (at < text.length()) {
                char c = text.charAt(at);
                if (c == '|' || c == ')') {
                    break;
                }
                if (c == '$' && depth == 0 && (at + 1 == text.length() || text.charAt(at + 1) == '|')) {
                    break;
                }
                if (c == '^' || c == '$') {
                    throw error("an anchor '" + c + "' other than at the start or end");
                }
                parts.add(quantified(atom()));
            }
            return parts.size() == 1 ? parts.getFirst() : new Seq(parts);
        }

        private Node quantified(Node atom) {
            while (at < text.length()) {
                int min;
                int max;
                int before = at;
                char c = text.charAt(at);
                if (c == '*' || c == '+' || c == '?') {
                    at++;
                    min = c == '+' ? 1 : 0;
                    max = c == '?' ? 1 : -1;
                } else if (c == '{') {
                    int[] bounds = braces();
                    if (bounds == null) {
                        at = before;
                        return atom;
                    }
                    min = bounds[0];
                    max = bounds[1];
                } else {
                    return atom;
                }
                eat('?'); // lazy: the same language
                atom = new Repeat(atom, min, max);
            }
            return atom;
        }

        /** {n}, {n,}, {n,m}, or null (a literal brace, as ECMA-262 reads one outside unicode mode). */
        private int[] braces() {
            int start = at;
            at++;
            int min = number();
            if (min < 0) {
                at = start;
                return null;
            }
            int max = min;
            if (eat(',')) {
                max = at < text.length() && text.charAt(at) == '}' ? -1 : number();
                if (max == -2) {
                    at = start;
                    return null;
                }
            }
            if (!eat('}')) {
                at = start;
                return null;
            }
            if (max >= 0 && max < min) {
                throw invalid("a quantifier {" + min + "," + max + "} out of order");
            }
            if (min > REPEAT_MAX || max > REPEAT_MAX) {
                throw error("a repetition count above " + REPEAT_MAX);
            }
            return new int[] {min, max};
        }

        /** Decimal digits as a number (capped), or -2 when there are none. */
        private int number() {
            int start = at;
            long value = 0;
            while (at < text.length() && Character.isDigit(text.charAt(at)) && text.charAt(at) < 0x80) {
                value = Math.min(value * 10 + text.charAt(at) - '0', Integer.MAX_VALUE);
                at++;
            }
            return at == start ? -2 : (int) value;
        }

        private Node atom() {
            char c = text.charAt(at);
            switch (c) {
                case '(' -> {
                    at++;
                    if (eat('?')) {
                        if (eat(':')) {
                            // non-capturing
                        } else if (text.startsWith("<", at) && !text.startsWith("<=", at) && !text.startsWith("<!", at)) {
                            int close = text.indexOf('>', at);
                            if (close < 0) {
                                throw invalid("an unterminated group name");
                            }
                            at = close + 1;
                        } else {
                            throw error("lookaround or a group modifier '(?" + (at < text.length()
                                    ? String.valueOf(text.charAt(at)) : "") + "'");
                        }
                    }
                    depth++;
                    Node inside = alternation();
                    depth--;
                    if (!eat(')')) {
                        throw invalid("an unterminated group");
                    }
                    return inside;
                }
                case '[' -> {
                    return new Chars(characterClass());
                }
                case '.' -> {
                    at++;
                    return new Chars(minus(BROAD, new int[] {'\n', '\n', '\r', '\r'}));
                }
                case '*', '+', '?' -> throw invalid("a quantifier '" + c + "' with nothing to repeat");
                case '\\' -> {
                    return new Chars(escape(false));
                }
                default -> {
                    int cp = text.codePointAt(at);
                    at += Character.charCount(cp);
                    return new Chars(new int[] {cp, cp});
                }
            }
        }

        private int[] characterClass() {
            at++;
            boolean negated = eat('^');
            if (at < text.length() && text.charAt(at) == ']') {
                throw error("an empty class [] or [^] (read differently by ECMA-262 and java.util.regex)");
            }
            int[] set = {};
            while (true) {
                if (at >= text.length()) {
                    throw invalid("an unterminated character class");
                }
                if (text.charAt(at) == ']') {
                    at++;
                    break;
                }
                int[] member = classMember();
                if (at + 1 < text.length() && text.charAt(at) == '-' && text.charAt(at + 1) != ']') {
                    at++;
                    int[] upper = classMember();
                    if (member.length != 2 || member[0] != member[1] || upper.length != 2 || upper[0] != upper[1]) {
                        throw invalid("a range with a class escape as an end");
                    }
                    if (upper[0] < member[0]) {
                        throw invalid("a range out of order");
                    }
                    member = intersect(new int[] {member[0], upper[0]}, ALL);
                }
                set = union(set, member);
            }
            return negated ? minus(complement(set), ESCAPED) : set;
        }

        private int[] classMember() {
            if (text.charAt(at) == '\\') {
                return escape(true);
            }
            int cp = text.codePointAt(at);
            at += Character.charCount(cp);
            return new int[] {cp, cp};
        }

        /** The set a backslash escape stands for; {@code at} is on the backslash. */
        private int[] escape(boolean inClass) {
            at++;
            if (at >= text.length()) {
                throw invalid("a trailing backslash");
            }
            char c = text.charAt(at++);
            return switch (c) {
                case 'd' -> DIGIT;
                case 'D' -> minus(complement(DIGIT), ESCAPED);
                case 'w' -> WORD;
                case 'W' -> minus(complement(WORD), ESCAPED);
                case 's' -> new int[] {' ', ' '};
                case 'S' -> minus(complement(SPACE), union(ESCAPED, new int[] {0x0B, 0x0C}));
                case 't' -> single('\t');
                case 'n' -> single('\n');
                case 'r' -> single('\r');
                case 'f' -> single('\f');
                case 'v' -> single(0x0B);
                case '0' -> {
                    if (at < text.length() && Character.isDigit(text.charAt(at))) {
                        throw error("an octal escape");
                    }
                    yield single(0);
                }
                case 'x' -> single(hex(2));
                case 'u' -> {
                    if (at < text.length() && text.charAt(at) == '{') {
                        throw error("a code point escape \\u{...}");
                    }
                    int unit = hex(4);
                    if (Character.isHighSurrogate((char) unit) && text.startsWith("\\u", at)) {
                        int saved = at;
                        at += 2;
                        int low = hex(4);
                        if (Character.isLowSurrogate((char) low)) {
                            yield single(Character.toCodePoint((char) unit, (char) low));
                        }
                        at = saved;
                    }
                    if (Character.isSurrogate((char) unit)) {
                        throw error("a lone surrogate \\u" + Integer.toHexString(unit));
                    }
                    yield single(unit);
                }
                case 'b' -> {
                    if (inClass) {
                        yield single('\b');
                    }
                    throw error("a word boundary \\b");
                }
                case 'B' -> throw error("a word boundary \\B");
                case 'p', 'P' -> throw error("a Unicode property escape \\" + c);
                case 'k' -> throw error("a named backreference \\k");
                case 'c' -> throw error("a control escape \\c");
                default -> {
                    if (c >= '1' && c <= '9') {
                        throw error("a backreference \\" + c);
                    }
                    if (Character.isLetterOrDigit(c)) {
                        throw invalid("an unknown escape \\" + c);
                    }
                    yield single(c);
                }
            };
        }

        private static int[] single(int cp) {
            return new int[] {cp, cp};
        }

        private int hex(int digits) {
            if (at + digits > text.length()) {
                throw invalid("a short hexadecimal escape");
            }
            int value = 0;
            for (int i = 0; i < digits; i++) {
                int d = Character.digit(text.charAt(at++), 16);
                if (d < 0) {
                    throw invalid("a bad hexadecimal digit");
                }
                value = value * 16 + d;
            }
            return value;
        }
    }

    // ------------------------------------------------------------------ automata

    /** A Thompson automaton: each state has epsilon moves and at most one character move. */
    private static final class Nfa {
        private final String pointer;
        final List<int[]> epsilon = new ArrayList<>();   // per state: targets (grown by copy)
        final List<int[]> chars = new ArrayList<>();     // per state: the character move's set, or null
        final List<Integer> charTarget = new ArrayList<>();

        Nfa(String pointer) {
            this.pointer = pointer;
        }

        int size() {
            return epsilon.size();
        }

        private int state() {
            if (size() == NFA_MAX) {
                throw new SchemaException(pointer, "pattern: more than " + NFA_MAX + " automaton states (long"
                        + " repetitions?) is more than structured output compiles");
            }
            epsilon.add(new int[0]);
            chars.add(null);
            charTarget.add(-1);
            return size() - 1;
        }

        private void link(int from, int to) {
            int[] old = epsilon.get(from);
            int[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = to;
            epsilon.set(from, grown);
        }

        /** {start, end} of a fragment for {@code node}. */
        int[] build(Node node) {
            switch (node) {
                case Chars c -> {
                    int s = state();
                    int e = state();
                    chars.set(s, c.set());
                    charTarget.set(s, e);
                    return new int[] {s, e};
                }
                case Seq seq -> {
                    int s = state();
                    int end = s;
                    for (Node part : seq.parts()) {
                        int[] f = build(part);
                        link(end, f[0]);
                        end = f[1];
                    }
                    return new int[] {s, end};
                }
                case Alt alt -> {
                    int s = state();
                    int e = state();
                    for (Node a : alt.alternatives()) {
                        int[] f = build(a);
                        link(s, f[0]);
                        link(f[1], e);
                    }
                    return new int[] {s, e};
                }
                case Repeat r -> {
                    int s = state();
                    int end = s;
                    for (int i = 0; i < r.min(); i++) {
                        int[] f = build(r.node());
                        link(end, f[0]);
                        end = f[1];
                    }
                    if (r.max() < 0) {
                        int loop = state();
                        link(end, loop);
                        int[] f = build(r.node());
                        link(loop, f[0]);
                        link(f[1], loop);
                        return new int[] {s, loop};
                    }
                    int e = state();
                    for (int i = r.min(); i < r.max(); i++) {
                        link(end, e);
                        int[] f = build(r.node());
                        link(end, f[0]);
                        end = f[1];
                    }
                    link(end, e);
                    return new int[] {s, e};
                }
            }
        }

        BitSet closure(BitSet states) {
            var out = (BitSet) states.clone();
            var todo = new ArrayDeque<Integer>();
            states.stream().forEach(todo::push);
            while (!todo.isEmpty()) {
                for (int t : epsilon.get(todo.pop())) {
                    if (!out.get(t)) {
                        out.set(t);
                        todo.push(t);
                    }
                }
            }
            return out;
        }
    }

    private static Dfa determinize(Nfa nfa, int start, int accept, String pointer) {
        var ids = new HashMap<BitSet, Integer>();
        var sets = new ArrayList<BitSet>();
        var ranges = new ArrayList<int[]>();
        var targets = new ArrayList<int[]>();
        BitSet first = new BitSet();
        first.set(start);
        first = nfa.closure(first);
        ids.put(first, 0);
        sets.add(first);
        for (int d = 0; d < sets.size(); d++) {
            BitSet set = sets.get(d);
            var cuts = new TreeSet<Integer>();
            set.stream().forEach(s -> {
                int[] chars = nfa.chars.get(s);
                if (chars != null) {
                    for (int i = 0; i < chars.length; i += 2) {
                        cuts.add(chars[i]);
                        cuts.add(chars[i + 1] + 1);
                    }
                }
            });
            var r = new ArrayList<Integer>();
            var t = new ArrayList<Integer>();
            Integer previous = null;
            for (int lo : cuts) {
                if (previous != null) {
                    int from = previous;
                    int to = lo - 1;
                    BitSet next = new BitSet();
                    set.stream().forEach(s -> {
                        int[] chars = nfa.chars.get(s);
                        if (chars != null && contains(chars, from)) {
                            next.set(nfa.charTarget.get(s));
                        }
                    });
                    if (!next.isEmpty()) {
                        BitSet closed = nfa.closure(next);
                        Integer id = ids.get(closed);
                        if (id == null) {
                            if (sets.size() == DFA_MAX) {
                                throw new SchemaException(pointer, "pattern: more than " + DFA_MAX + " deterministic"
                                        + " automaton states is more than structured output compiles");
                            }
                            id = sets.size();
                            ids.put(closed, id);
                            sets.add(closed);
                        }
                        int n = t.size();
                        if (n > 0 && t.get(n - 1) == id && r.get(2 * n - 1) == from - 1) {
                            r.set(2 * n - 1, to);
                        } else {
                            r.add(from);
                            r.add(to);
                            t.add(id);
                        }
                    }
                }
                previous = lo;
            }
            ranges.add(r.stream().mapToInt(Integer::intValue).toArray());
            targets.add(t.stream().mapToInt(Integer::intValue).toArray());
        }
        boolean[] accepting = new boolean[sets.size()];
        for (int d = 0; d < accepting.length; d++) {
            accepting[d] = sets.get(d).get(accept);
        }
        return new Dfa(accepting, ranges.toArray(int[][]::new), targets.toArray(int[][]::new));
    }

    private static boolean contains(int[] set, int cp) {
        for (int i = 0; i < set.length; i += 2) {
            if (cp >= set[i] && cp <= set[i + 1]) {
                return true;
            }
        }
        return false;
    }

    /** Both automata at once: the strings both match. */
    static Dfa intersect(Dfa a, Dfa b, String pointer) {
        var ids = new HashMap<Long, Integer>();
        var pairs = new ArrayList<long[]>();
        var ranges = new ArrayList<int[]>();
        var targets = new ArrayList<int[]>();
        ids.put(0L, 0);
        pairs.add(new long[] {0, 0});
        for (int d = 0; d < pairs.size(); d++) {
            int x = (int) pairs.get(d)[0];
            int y = (int) pairs.get(d)[1];
            var r = new ArrayList<Integer>();
            var t = new ArrayList<Integer>();
            int[] ra = a.ranges()[x];
            int[] rb = b.ranges()[y];
            for (int i = 0; i < a.targets()[x].length; i++) {
                for (int j = 0; j < b.targets()[y].length; j++) {
                    int lo = Math.max(ra[2 * i], rb[2 * j]);
                    int hi = Math.min(ra[2 * i + 1], rb[2 * j + 1]);
                    if (lo > hi) {
                        continue;
                    }
                    long key = ((long) a.targets()[x][i] << 32) | b.targets()[y][j];
                    Integer id = ids.get(key);
                    if (id == null) {
                        if (pairs.size() == DFA_MAX) {
                            throw new SchemaException(pointer, "pattern and format together need more than " + DFA_MAX
                                    + " automaton states, more than structured output compiles");
                        }
                        id = pairs.size();
                        ids.put(key, id);
                        pairs.add(new long[] {a.targets()[x][i], b.targets()[y][j]});
                    }
                    r.add(lo);
                    r.add(hi);
                    t.add(id);
                }
            }
            sortByRange(r, t);
            ranges.add(r.stream().mapToInt(Integer::intValue).toArray());
            targets.add(t.stream().mapToInt(Integer::intValue).toArray());
        }
        boolean[] accepting = new boolean[pairs.size()];
        for (int d = 0; d < accepting.length; d++) {
            accepting[d] = a.accepting()[(int) pairs.get(d)[0]] && b.accepting()[(int) pairs.get(d)[1]];
        }
        return prune(new Dfa(accepting, ranges.toArray(int[][]::new), targets.toArray(int[][]::new)));
    }

    private static void sortByRange(List<Integer> r, List<Integer> t) {
        Integer[] order = new Integer[t.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (i, j) -> Integer.compare(r.get(2 * i), r.get(2 * j)));
        var rs = new ArrayList<Integer>();
        var ts = new ArrayList<Integer>();
        for (int i : order) {
            rs.add(r.get(2 * i));
            rs.add(r.get(2 * i + 1));
            ts.add(t.get(i));
        }
        r.clear();
        r.addAll(rs);
        t.clear();
        t.addAll(ts);
    }

    /**
     * Drops the states that cannot reach acceptance and the moves into them, renumbering the
     * rest from 0; an empty language leaves a start state that accepts nothing and has no moves.
     */
    private static Dfa prune(Dfa dfa) {
        int n = dfa.states();
        boolean[] live = dfa.accepting().clone();
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int s = 0; s < n; s++) {
                if (!live[s]) {
                    for (int t : dfa.targets()[s]) {
                        if (live[t]) {
                            live[s] = true;
                            changed = true;
                            break;
                        }
                    }
                }
            }
        }
        int[] renumber = new int[n];
        Arrays.fill(renumber, -1);
        var order = new ArrayList<Integer>();
        var todo = new ArrayDeque<Integer>();
        renumber[0] = 0;
        order.add(0);
        todo.add(0);
        while (!todo.isEmpty()) {
            int s = todo.poll();
            if (!live[s]) {
                continue;
            }
            for (int t : dfa.targets()[s]) {
                if (live[t] && renumber[t] < 0) {
                    renumber[t] = order.size();
                    order.add(t);
                    todo.add(t);
                }
            }
        }
        boolean[] accepting = new boolean[order.size()];
        int[][] ranges = new int[order.size()][];
        int[][] targets = new int[order.size()][];
        for (int i = 0; i < order.size(); i++) {
            int s = order.get(i);
            accepting[i] = dfa.accepting()[s];
            var r = new ArrayList<Integer>();
            var t = new ArrayList<Integer>();
            if (live[s]) {
                for (int k = 0; k < dfa.targets()[s].length; k++) {
                    int to = dfa.targets()[s][k];
                    if (live[to]) {
                        r.add(dfa.ranges()[s][2 * k]);
                        r.add(dfa.ranges()[s][2 * k + 1]);
                        t.add(renumber[to]);
                    }
                }
            }
            ranges[i] = r.stream().mapToInt(Integer::intValue).toArray();
            targets[i] = t.stream().mapToInt(Integer::intValue).toArray();
        }
        return new Dfa(accepting, ranges, targets);
    }

    /** Whether {@code dfa} matches all of {@code text}. */
    static boolean matches(Dfa dfa, String text) {
        int state = 0;
        for (int i = 0; i < text.length() && state >= 0; ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            state = dfa.next(state, cp);
        }
        return state >= 0 && dfa.accepting()[state];
    }
}
