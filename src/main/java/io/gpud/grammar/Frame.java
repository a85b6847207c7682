package io.gpud.grammar;

import java.util.Arrays;
import java.util.List;

/**
 * The JSON automaton: a pushdown automaton over bytes whose stack is a chain of immutable
 * frames, so a parser state is one pointer and advancing by a byte allocates a frame or two
 * and never copies a stack.
 *
 * <h2>Design</h2>
 *
 * <p>Each frame is the innermost value being written (a string, a number, an object between
 * its members, ...) and points at its {@link #parent}: the frame to continue with once the
 * value is done, already advanced past it (an object frame that expects a comma or its
 * closing brace, say). A closing byte therefore returns the parent as it is, and a value
 * that has no closing byte (a number) may end before any byte its parent accepts. Reading a
 * byte gives zero or more next frames: none when the byte cannot continue a valid document,
 * several where the schema leaves a choice open ({@code anyOf}, a number that may end or go
 * on), so a parser state is a small set of frames, the heads of several stacks sharing
 * their bottoms. Equal stacks are kept once ({@link #equals}), and
 * {@link SchemaConstraint#HEADS_MAX} bounds the set where alternatives overlap.
 *
 * <p>Every frame knows how many bytes at least its value still needs ({@link #cost}) and,
 * fixed when the frame was pushed, how many the frames below it need once it is done
 * ({@link #rest}); their sum is the length of the shortest way to finish the document from
 * here. The budget check in {@link SchemaConstraint} rests on that number being exact: the
 * first byte of a shortest finish leads to a state whose shortest finish is one byte
 * shorter, so a state that fits in the budget always has a next byte that still fits.
 *
 * <p>What the automaton writes is a subset of JSON chosen so that a model with random
 * weights cannot wander forever and a standard parser reads every document: whitespace
 * runs of at most {@value #WHITESPACE_MAX} bytes of space, newline or tab between tokens;
 * no whitespace inside a key-colon pair; nesting at most {@value #DEPTH_MAX} deep; numbers
 * with at most 16 integer and 16 fraction digits and 2 exponent digits; <code>&#92;u</code> escapes
 * below U+1000 only (no surrogate halves); strings of valid UTF-8.
 */
abstract sealed class Frame {
    static final int WHITESPACE_MAX = 16;
    static final int DEPTH_MAX = 64;

    /** The frame to continue with once this frame's value is done. */
    final Frame parent;
    /** Bytes the frames below need once this value is done. */
    final int rest;

    Frame(Frame parent, int rest) {
        this.parent = parent;
        this.rest = rest;
    }

    /** Adds the frames that follow reading byte {@code b} (0..255) to {@code out}. */
    abstract void step(int b, Heads out);

    /** The fewest bytes that finish this frame's value. */
    abstract int cost();

    /** The fewest bytes that finish the document. */
    final int total() {
        return Shape.sat((long) cost() + rest);
    }

    /** Whether this value may end here without another byte (a number, say). */
    boolean accepting() {
        return false;
    }

    /** Whether the document may end here. */
    boolean complete() {
        return accepting() && parent.complete();
    }

    /** The special token that must come next (a piece of a wrapping), or -1. */
    int special() {
        return -1;
    }

    /** The frame after the special token {@link #special()}. */
    Frame afterSpecial() {
        throw new IllegalStateException("no special token expected here");
    }

    static boolean whitespace(int b) {
        return b == ' ' || b == '\n' || b == '\t';
    }

    /**
     * Two frames are equal when their stacks are: frame by frame the same class, the same
     * {@link #sameState state} and the same {@link #rest}, down to a shared or equal bottom.
     * Equal heads lead to the same documents, so a parser state keeps one of them.
     */
    @Override
    public final boolean equals(Object o) {
        if (!(o instanceof Frame that)) {
            return false;
        }
        for (Frame a = this, b = that; a != b; a = a.parent, b = b.parent) {
            if (a == null || b == null || a.getClass() != b.getClass() || a.rest != b.rest || !a.sameState(b)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public final int hashCode() {
        int h = hash;
        if (h == 0) {
            h = 31 * (31 * (parent == null ? 0 : parent.hashCode()) + getClass().hashCode()) + 7 * rest + stateHash();
            hash = h == 0 ? 1 : h;
        }
        return hash;
    }

    private int hash; // of the stack, computed once; 0 until then

    /**
     * Whether this frame, its parent aside, is in the same state as {@code other}, a frame of
     * the same class. A frame class that does not say is equal only to itself.
     */
    boolean sameState(Frame other) {
        return false;
    }

    /** A hash of what {@link #sameState} compares. */
    int stateHash() {
        return 0;
    }

    /**
     * A growable set of frames: the heads of a parser state. An {@link #equals equal} head
     * is added once, so a schema that offers one value two ways ({@code anyOf} of equal
     * alternatives) does not double the heads at every level; from {@value #INDEXED} heads on
     * an open-addressing index finds the equal one.
     */
    static final class Heads {
        private static final int INDEXED = 8;
        Frame[] frames = new Frame[2];
        int size;
        private int[] index = new int[0]; // position + 1 of a head, 0 for none; a power of two long
        private boolean indexed;          // index holds frames[0..size)

        void clear() {
            if (indexed) {
                Arrays.fill(index, 0);
                indexed = false;
            }
            size = 0;
        }

        void add(Frame f) {
            if (size < INDEXED) {
                for (int i = 0; i < size; i++) {
                    if (frames[i].equals(f)) {
                        return;
                    }
                }
            } else {
                if (!indexed || 2 * size >= index.length) {
                    reindex();
                }
                int slot = slot(f);
                if (index[slot] != 0) {
                    return;
                }
                index[slot] = size + 1;
            }
            if (size == frames.length) {
                frames = Arrays.copyOf(frames, size * 2);
            }
            frames[size++] = f;
        }

        /** The slot holding a head equal to {@code f}, or the empty slot where it goes. */
        private int slot(Frame f) {
            int mask = index.length - 1;
            int h = f.hashCode();
            int slot = (h ^ (h >>> 16)) & mask;
            while (index[slot] != 0 && !frames[index[slot] - 1].equals(f)) {
                slot = (slot + 1) & mask;
            }
            return slot;
        }

        private void reindex() {
            int length = Integer.highestOneBit(4 * size) * 2;
            if (index.length < length) {
                index = new int[length];
            } else if (indexed) {
                Arrays.fill(index, 0);
            }
            for (int i = 0; i < size; i++) {
                index[slot(frames[i])] = i + 1;
            }
            indexed = true;
        }

        Frame[] toArray() {
            return Arrays.copyOf(frames, size);
        }
    }

    // ------------------------------------------------------------------ the document

    /** A literal piece of a wrapping: bytes, or one special token ({@code bytes} null). */
    record Piece(byte[] bytes, int special) {
        int cost() {
            return bytes == null ? 1 : bytes.length;
        }
    }

    /** The bottom of every stack: the wrapping's prefix, the value, the suffix. */
    static final class Document extends Frame {
        private final List<Piece> before;
        private final Shape root;
        private final List<Piece> after;
        private final int index;    // 0..before, before + 1 + after; before is the value
        private final int position; // within a bytes piece

        private Document(List<Piece> before, Shape root, List<Piece> after, int index, int position) {
            super(null, 0);
            this.before = before;
            this.root = root;
            this.after = after;
            this.index = index;
            this.position = position;
        }

        /** The first frame of a document: the prefix's first piece, or the value. */
        static Frame start(List<Piece> before, Shape root, List<Piece> after) {
            return new Document(before, root, after, 0, 0).settle();
        }

        private Piece piece() {
            return index < before.size() ? before.get(index) : after.get(index - before.size() - 1);
        }

        private boolean atValue() {
            return index == before.size();
        }

        private boolean ended() {
            return index == before.size() + 1 + after.size();
        }

        private Frame settle() {
            if (atValue()) {
                var next = new Document(before, root, after, index + 1, 0);
                return new ValueStart(root, 0, next, next.total());
            }
            return this;
        }

        @Override
        void step(int b, Heads out) {
            if (ended() || piece().bytes() == null) {
                return;
            }
            byte[] bytes = piece().bytes();
            if ((bytes[position] & 0xFF) == b) {
                out.add(position + 1 == bytes.length
                        ? new Document(before, root, after, index + 1, 0).settle()
                        : new Document(before, root, after, index, position + 1));
            }
        }

        @Override
        int cost() {
            long sum = 0;
            for (int i = index; i < before.size() + 1 + after.size(); i++) {
                sum += i == before.size() ? root.minBytes : (i < before.size() ? before.get(i)
                        : after.get(i - before.size() - 1)).cost();
            }
            return Shape.sat(sum - position);
        }

        @Override
        boolean complete() {
            return ended();
        }

        @Override
        int special() {
            return ended() || atValue() || piece().bytes() != null ? -1 : piece().special();
        }

        @Override
        Frame afterSpecial() {
            return new Document(before, root, after, index + 1, 0).settle();
        }

        @Override
        boolean sameState(Frame other) {
            var that = (Document) other;
            return before == that.before && root == that.root && after == that.after && index == that.index
                    && position == that.position;
        }

        @Override
        int stateHash() {
            return 31 * index + position;
        }
    }

    // ------------------------------------------------------------------ values

    /** Before a value: whitespace, then the value's first byte. */
    static final class ValueStart extends Frame {
        private final Shape shape;
        private final int whitespace;

        ValueStart(Shape shape, int whitespace, Frame parent, int rest) {
            super(parent, rest);
            this.shape = shape;
            this.whitespace = whitespace;
        }

        @Override
        void step(int b, Heads out) {
            if (whitespace(b)) {
                if (whitespace < WHITESPACE_MAX) {
                    out.add(new ValueStart(shape, whitespace + 1, parent, rest));
                }
                return;
            }
            begin(shape, b, parent, rest, out);
        }

        @Override
        int cost() {
            return shape.minBytes;
        }

        @Override
        boolean sameState(Frame other) {
            var that = (ValueStart) other;
            return shape == that.shape && whitespace == that.whitespace;
        }

        @Override
        int stateHash() {
            return 31 * System.identityHashCode(shape) + whitespace;
        }
    }

    static final Shape ANY = new Shape.Any();
    static final Shape.Str ANY_STRING = new Shape.Str(0, Integer.MAX_VALUE, null, null);
    static final Shape.Obj ANY_OBJECT = new Shape.Obj(List.of(), ANY, ANY_STRING);
    static final Shape.Arr ANY_ARRAY = new Shape.Arr(List.of(), ANY, 0, Integer.MAX_VALUE);
    static final Shape.Num ANY_NUMBER = new Shape.Num(false, false, 0, 0, 0, 0, false, false);
    static final Shape.Literal KEYWORDS = new Shape.Literal(new byte[][] {
            "true".getBytes(), "false".getBytes(), "null".getBytes()});

    static {
        for (Shape s : List.of(ANY, ANY_STRING, ANY_OBJECT, ANY_ARRAY, ANY_NUMBER, KEYWORDS)) {
            s.update();
        }
    }

    /** The frames after the first byte {@code b} of a value of {@code shape}. */
    static void begin(Shape shape, int b, Frame parent, int rest, Heads out) {
        switch (shape) {
            case Shape.Ref ref -> begin(ref.target, b, parent, rest, out);
            case Shape.Union union -> {
                for (Shape alternative : union.alternatives) {
                    begin(alternative, b, parent, rest, out);
                }
            }
            case Shape.Any any -> {
                switch (b) {
                    case '{' -> begin(ANY_OBJECT, b, parent, rest, out);
                    case '[' -> begin(ANY_ARRAY, b, parent, rest, out);
                    case '"' -> begin(ANY_STRING, b, parent, rest, out);
                    case 't', 'f', 'n' -> begin(KEYWORDS, b, parent, rest, out);
                    default -> begin(ANY_NUMBER, b, parent, rest, out);
                }
            }
            case Shape.Obj obj -> {
                if (b == '{' && depth(parent) < DEPTH_MAX) {
                    out.add(new ObjectFrame(obj, ObjectFrame.OPEN, 0, 0, parent, rest));
                }
            }
            case Shape.Arr arr -> {
                if (b == '[' && depth(parent) < DEPTH_MAX) {
                    out.add(new ArrayFrame(arr, ArrayFrame.OPEN, 0, 0, parent, rest));
                }
            }
            case Shape.Str str -> {
                if (b == '"' && str.minBytes < Shape.UNREACHABLE) {
                    out.add(str.format != null
                            ? new FormatFrame(str.format, -1L >>> (64 - str.format.templates().size()), 0, parent, rest)
                            : str.pattern != null ? new PatternFrame(str.pattern, 0, 0, PatternFrame.BETWEEN, 0, 0, 0,
                            parent, rest)
                            : new StringFrame(str, 0, 0, 0, 0, 0, parent, rest));
                }
            }
            case Shape.Num num -> NumberFrame.begin(num, b, parent, rest, out);
            case Shape.Literal literal -> LiteralFrame.begin(literal, b, parent, rest, out);
        }
    }

    private static int depth(Frame f) {
        int depth = 0;
        for (; f != null; f = f.parent) {
            depth++;
        }
        return depth;
    }

    /** An object between its members. */
    static final class ObjectFrame extends Frame {
        static final int OPEN = 0;        // after '{'
        static final int AFTER_VALUE = 1; // after a member
        static final int AFTER_COMMA = 2;
        static final int AFTER_KEY = 3;   // expects ':'

        private final Shape.Obj obj;
        private final int phase;
        private final int index;      // the next property to consider; AFTER_KEY: the key's property (free: 0)
        private final int whitespace;

        ObjectFrame(Shape.Obj obj, int phase, int index, int whitespace, Frame parent, int rest) {
            super(parent, rest);
            this.obj = obj;
            this.phase = phase;
            this.index = index;
            this.whitespace = whitespace;
        }

        @Override
        void step(int b, Heads out) {
            if (phase != AFTER_KEY && whitespace(b)) {
                if (whitespace < WHITESPACE_MAX) {
                    out.add(new ObjectFrame(obj, phase, index, whitespace + 1, parent, rest));
                }
                return;
            }
            boolean free = obj.free();
            boolean mayClose = free || !obj.requiredFrom(index);
            switch (phase) {
                case OPEN -> {
                    if (b == '}' && mayClose) {
                        out.add(parent);
                    } else if (b == '"') {
                        beginKey(out);
                    }
                }
                case AFTER_COMMA -> {
                    if (b == '"') {
                        beginKey(out);
                    }
                }
                case AFTER_VALUE -> {
                    if (b == '}' && mayClose) {
                        out.add(parent);
                    } else if (b == ',' && (free || index < obj.properties.size())) {
                        out.add(new ObjectFrame(obj, AFTER_COMMA, index, 0, parent, rest));
                    }
                }
                default -> {
                    if (b == ':') {
                        var next = new ObjectFrame(obj, AFTER_VALUE, free ? 0 : index + 1, 0, parent, rest);
                        Shape value = free ? obj.additional : obj.properties.get(index).shape();
                        out.add(new ValueStart(value, 0, next, next.total()));
                    }
                }
            }
        }

        private void beginKey(Heads out) {
            if (obj.free()) {
                var next = new ObjectFrame(obj, AFTER_KEY, 0, 0, parent, rest);
                begin(obj.keys, '"', next, next.total(), out);
            } else if (index < obj.properties.size()) {
                int last = obj.lastCandidate(index);
                int[] alive = new int[last - index + 1];
                for (int j = index; j <= last; j++) {
                    alive[j - index] = j;
                }
                out.add(new KeyFrame(this, alive, 1));
            }
        }

        @Override
        int cost() {
            if (obj.free()) {
                return switch (phase) {
                    case OPEN, AFTER_VALUE -> 1;
                    case AFTER_COMMA -> obj.afterComma[0];
                    default -> Shape.sat(1L + obj.additional.minBytes + 1);
                };
            }
            return switch (phase) {
                case OPEN -> obj.minBytes - 1;
                case AFTER_VALUE -> Shape.sat(obj.requiredTail[index] + 1L);
                case AFTER_COMMA -> obj.afterComma[index];
                default -> Shape.sat(1L + obj.properties.get(index).shape().minBytes + obj.requiredTail[index + 1] + 1);
            };
        }

        @Override
        boolean sameState(Frame other) {
            var that = (ObjectFrame) other;
            return obj == that.obj && phase == that.phase && index == that.index && whitespace == that.whitespace;
        }

        @Override
        int stateHash() {
            return ((31 * System.identityHashCode(obj) + phase) * 31 + index) * 31 + whitespace;
        }
    }

    /** Inside a declared property's key: the properties whose key text still matches. */
    static final class KeyFrame extends Frame {
        private final ObjectFrame object; // before the key
        private final int[] alive;        // property indices
        private final int position;       // bytes of the key text matched, opening quote included

        KeyFrame(ObjectFrame object, int[] alive, int position) {
            super(object.parent, object.rest);
            this.object = object;
            this.alive = alive;
            this.position = position;
        }

        @Override
        void step(int b, Heads out) {
            int[] next = new int[alive.length];
            int n = 0;
            for (int j : alive) {
                byte[] key = object.obj.properties.get(j).key();
                if ((key[position] & 0xFF) == b) {
                    if (position + 1 == key.length) {
                        out.add(new ObjectFrame(object.obj, ObjectFrame.AFTER_KEY, j, 0, object.parent, object.rest));
                    } else {
                        next[n++] = j;
                    }
                }
            }
            if (n > 0) {
                out.add(new KeyFrame(object, Arrays.copyOf(next, n), position + 1));
            }
        }

        @Override
        int cost() {
            Shape.Obj obj = object.obj;
            long best = Shape.UNREACHABLE;
            for (int j : alive) {
                Shape.Property p = obj.properties.get(j);
                best = Math.min(best, (long) p.key().length - position + 1 + p.shape().minBytes
                        + obj.requiredTail[j + 1] + 1);
            }
            return Shape.sat(best);
        }

        @Override
        boolean sameState(Frame other) {
            var that = (KeyFrame) other;
            return object.sameState(that.object) && position == that.position && Arrays.equals(alive, that.alive);
        }

        @Override
        int stateHash() {
            return (31 * object.stateHash() + position) * 31 + Arrays.hashCode(alive);
        }
    }

    /** An array between its items. */
    static final class ArrayFrame extends Frame {
        static final int OPEN = 0;
        static final int AFTER_VALUE = 1;
        static final int AFTER_COMMA = 2;

        private final Shape.Arr arr;
        private final int phase;
        private final int count;      // items written
        private final int whitespace;

        ArrayFrame(Shape.Arr arr, int phase, int count, int whitespace, Frame parent, int rest) {
            super(parent, rest);
            this.arr = arr;
            this.phase = phase;
            this.count = count;
            this.whitespace = whitespace;
        }

        @Override
        void step(int b, Heads out) {
            if (whitespace(b)) {
                if (whitespace < WHITESPACE_MAX) {
                    out.add(new ArrayFrame(arr, phase, count, whitespace + 1, parent, rest));
                }
                return;
            }
            switch (phase) {
                case OPEN -> {
                    if (b == ']' && arr.minItems == 0) {
                        out.add(parent);
                    } else if (arr.maxItems > 0) {
                        item(b, out);
                    }
                }
                case AFTER_VALUE -> {
                    if (b == ']' && count >= arr.minItems) {
                        out.add(parent);
                    } else if (b == ',' && count < arr.maxItems) {
                        out.add(new ArrayFrame(arr, AFTER_COMMA, count, 0, parent, rest));
                    }
                }
                default -> item(b, out);
            }
        }

        private void item(int b, Heads out) {
            var next = new ArrayFrame(arr, AFTER_VALUE, count + 1, 0, parent, rest);
            begin(arr.item(count), b, next, next.total(), out);
        }

        @Override
        int cost() {
            return switch (phase) {
                case OPEN -> arr.minItems == 0 ? 1 : arr.needed(0);
                case AFTER_VALUE -> Shape.sat(arr.needed(count) + 1L);
                default -> Shape.sat((long) arr.item(count).minBytes + arr.needed(count + 1) + 1);
            };
        }

        @Override
        boolean sameState(Frame other) {
            var that = (ArrayFrame) other;
            return arr == that.arr && phase == that.phase && count == that.count && whitespace == that.whitespace;
        }

        @Override
        int stateHash() {
            return ((31 * System.identityHashCode(arr) + phase) * 31 + count) * 31 + whitespace;
        }
    }

    /** Inside a string of free text. */
    static final class StringFrame extends Frame {
        private final Shape.Str str;
        private final int length;   // code points so far (an escape counts once)
        private final int escape;   // 0 none, 1 after '\', 2..5 after backslash-u with escape - 2 hex digits read
        private final int pending;  // UTF-8 continuation bytes still expected
        private final int low;      // range of the next continuation byte (0: 0x80..0xBF)
        private final int high;

        StringFrame(Shape.Str str, int length, int escape, int pending, int low, int high, Frame parent, int rest) {
            super(parent, rest);
            this.str = str;
            this.length = length;
            this.escape = escape;
            this.pending = pending;
            this.low = low;
            this.high = high;
        }

        /** Between characters: no escape or UTF-8 sequence under way. */
        boolean plain() {
            return pending == 0 && escape == 0;
        }

        int minLengthLeft() {
            return Math.max(0, str.minLength - length);
        }

        int maxLengthLeft() {
            return str.maxLength - length;
        }

        private StringFrame with(int length, int escape, int pending, int low, int high) {
            return new StringFrame(str, length, escape, pending, low, high, parent, rest);
        }

        @Override
        void step(int b, Heads out) {
            if (pending > 0) {
                if (b >= (low == 0 ? 0x80 : low) && b <= (high == 0 ? 0xBF : high)) {
                    out.add(with(length, 0, pending - 1, 0, 0));
                }
            } else if (escape == 1) {
                if ("\"\\/bfnrt".indexOf(b) >= 0) {
                    out.add(with(length, 0, 0, 0, 0));
                } else if (b == 'u') {
                    out.add(with(length, 2, 0, 0, 0));
                }
            } else if (escape >= 2) {
                boolean hex = escape == 2 ? b == '0' : (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
                if (hex) {
                    out.add(with(length, escape == 5 ? 0 : escape + 1, 0, 0, 0));
                }
            } else if (b == '"') {
                if (length >= str.minLength) {
                    out.add(parent);
                }
            } else if (b < 0x20 || length >= str.maxLength) {
                return;
            } else if (b == '\\') {
                out.add(with(length + 1, 1, 0, 0, 0));
            } else if (b < 0x80) {
                out.add(with(length + 1, 0, 0, 0, 0));
            } else if (b >= 0xC2 && b <= 0xDF) {
                out.add(with(length + 1, 0, 1, 0, 0));
            } else if (b >= 0xE0 && b <= 0xEF) {
                out.add(with(length + 1, 0, 2, b == 0xE0 ? 0xA0 : 0, b == 0xED ? 0x9F : 0));
            } else if (b >= 0xF0 && b <= 0xF4) {
                out.add(with(length + 1, 0, 3, b == 0xF0 ? 0x90 : 0, b == 0xF4 ? 0x8F : 0));
            }
        }

        @Override
        int cost() {
            int unfinished = pending + (escape == 1 ? 1 : escape >= 2 ? 6 - escape : 0);
            return Shape.sat((long) unfinished + Math.max(0, str.minLength - length) + 1);
        }

        @Override
        boolean sameState(Frame other) {
            var that = (StringFrame) other;
            return str == that.str && length == that.length && escape == that.escape && pending == that.pending
                    && low == that.low && high == that.high;
        }

        @Override
        int stateHash() {
            return (((31 * System.identityHashCode(str) + length) * 31 + escape) * 31 + pending) * 31 + low + high;
        }
    }

    /** Inside a string of a {@link Formats.Format}: the templates still possible. */
    static final class FormatFrame extends Frame {
        private final Formats.Format format;
        private final long alive;   // bit t: template t
        private final int position;

        FormatFrame(Formats.Format format, long alive, int position, Frame parent, int rest) {
            super(parent, rest);
            this.format = format;
            this.alive = alive;
            this.position = position;
        }

        @Override
        void step(int b, Heads out) {
            if (position == format.length()) {
                if (b == '"') {
                    out.add(parent);
                }
                return;
            }
            long next = 0;
            for (long bits = alive; bits != 0; bits &= bits - 1) {
                int t = Long.numberOfTrailingZeros(bits);
                if (format.allows(t, position, b)) {
                    next |= 1L << t;
                }
            }
            if (next != 0) {
                out.add(new FormatFrame(format, next, position + 1, parent, rest));
            }
        }

        @Override
        int cost() {
            return format.length() - position + 1;
        }

        @Override
        boolean sameState(Frame other) {
            var that = (FormatFrame) other;
            return format == that.format && alive == that.alive && position == that.position;
        }

        @Override
        int stateHash() {
            return (31 * System.identityHashCode(format) + Long.hashCode(alive)) * 31 + position;
        }
    }

    /**
     * Inside a string of a {@link PatternText}: the pattern's state, the code points written,
     * and the character under way, if any, as the code points it may still become.
     */
    static final class PatternFrame extends Frame {
        private static final int BETWEEN = 0; // between characters
        private static final int UTF8 = 1;    // after a lead byte: pending continuation bytes
        private static final int ESCAPE = 2;  // after a backslash
        private static final int HEX = 3;     // after backslash-u: pending hex digits (controls only)

        private final PatternText text;
        private final int state;
        private final int count;
        private final int kind;
        private final int prefix;   // the bits of the character read so far
        private final int pending;  // bytes of it still to read
        private final int floor;    // UTF8: the least code point of its length (no overlong forms)

        PatternFrame(PatternText text, int state, int count, int kind, int prefix, int pending, int floor, Frame parent,
                     int rest) {
            super(parent, rest);
            this.text = text;
            this.state = state;
            this.count = count;
            this.kind = kind;
            this.prefix = prefix;
            this.pending = pending;
            this.floor = floor;
        }

        @Override
        boolean sameState(Frame other) {
            var that = (PatternFrame) other;
            return text == that.text && state == that.state && count == that.count && kind == that.kind
                    && prefix == that.prefix && pending == that.pending && floor == that.floor;
        }

        @Override
        int stateHash() {
            return ((((31 * System.identityHashCode(text) + state) * 31 + count) * 31 + kind) * 31 + prefix) * 31
                    + pending * 7 + floor;
        }

        private int lo() {
            int bits = kind == UTF8 ? 6 * pending : 4 * pending;
            return Math.max(floor, prefix << bits);
        }

        private int hi() {
            int bits = kind == UTF8 ? 6 * pending : 4 * pending;
            return Math.min(kind == UTF8 ? 0x10FFFF : 0x1F, (prefix << bits) | ((1 << bits) - 1));
        }

        private void partial(int kind, int prefix, int pending, int floor, Heads out) {
            var next = new PatternFrame(text, state, count, kind, prefix, pending, floor, parent, rest);
            if (next.cost() < Shape.UNREACHABLE) {
                out.add(next);
            }
        }

        private void character(int cp, Heads out) {
            int to = text.dfa.next(state, cp);
            int next = text.after(count);
            if (to >= 0 && next >= 0 && text.finish(to, next) < Shape.UNREACHABLE) {
                out.add(new PatternFrame(text, to, next, BETWEEN, 0, 0, 0, parent, rest));
            }
        }

        @Override
        void step(int b, Heads out) {
            switch (kind) {
                case BETWEEN -> {
                    if (b == '"') {
                        if (text.accepts(state, count)) {
                            out.add(parent);
                        }
                    } else if (b == '\\') {
                        partial(ESCAPE, 0, 0, 0, out);
                    } else if (b >= 0x20 && b < 0x80) {
                        character(b, out);
                    } else if (b >= 0xC2 && b <= 0xDF) {
                        partial(UTF8, b & 0x1F, 1, 0x80, out);
                    } else if (b >= 0xE0 && b <= 0xEF) {
                        partial(UTF8, b & 0x0F, 2, 0x800, out);
                    } else if (b >= 0xF0 && b <= 0xF4) {
                        partial(UTF8, b & 0x07, 3, 0x10000, out);
                    }
                }
                case UTF8 -> {
                    if (b >= 0x80 && b <= 0xBF) {
                        int bits = prefix << 6 | (b & 0x3F);
                        if (pending == 1) {
                            if (bits >= floor && bits <= 0x10FFFF) {
                                character(bits, out);
                            }
                        } else {
                            partial(UTF8, bits, pending - 1, floor, out);
                        }
                    }
                }
                case ESCAPE -> {
                    int cp = escaped(b);
                    if (cp >= 0) {
                        character(cp, out);
                    } else if (b == 'u') {
                        partial(HEX, 0, 4, 0, out);
                    }
                }
                default -> {
                    int d = Character.digit(b, 16);
                    if (d >= 0 && b < 0x80) {
                        int bits = prefix << 4 | d;
                        if (pending == 1) {
                            if (bits <= 0x1F) {
                                character(bits, out);
                            }
                        } else {
                            partial(HEX, bits, pending - 1, 0, out);
                        }
                    }
                }
            }
        }

        /** The character of a short escape's letter, or -1. */
        private static int escaped(int b) {
            return switch (b) {
                case '"', '\\', '/' -> b;
                case 'b' -> '\b';
                case 'f' -> '\f';
                case 'n' -> '\n';
                case 'r' -> '\r';
                case 't' -> '\t';
                default -> -1;
            };
        }

        @Override
        int cost() {
            long finish = switch (kind) {
                case BETWEEN -> text.finish(state, count);
                case ESCAPE -> {
                    long best = 5L + text.through(state, count, 0, 0x1F);
                    for (int cp : new int[] {'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'}) {
                        best = Math.min(best, 1L + text.through(state, count, cp, cp));
                    }
                    yield best;
                }
                default -> (long) pending + text.through(state, count, lo(), hi());
            };
            return Shape.sat(finish + 1);
        }
    }

    /** Inside a number; see {@link Shape.Num} for what may be written. */
    static final class NumberFrame extends Frame {
        private static final int SIGN = 0;      // after '-'
        private static final int ZERO = 1;      // integer part "0"
        private static final int INTEGER = 2;   // integer part of 1..16 digits, not starting with 0
        private static final int DOT = 3;
        private static final int FRACTION = 4;
        private static final int EXPONENT = 5;  // after 'e'
        private static final int EXPONENT_SIGN = 6;
        private static final int EXPONENT_DIGITS = 7;

        private final Shape.Num num;
        private final int state;
        private final boolean negative;
        private final long value;    // integer part's magnitude
        private final int digits;    // digits of the part being written

        private NumberFrame(Shape.Num num, int state, boolean negative, long value, int digits, Frame parent, int rest) {
            super(parent, rest);
            this.num = num;
            this.state = state;
            this.negative = negative;
            this.value = value;
            this.digits = digits;
        }

        static void begin(Shape.Num num, int b, Frame parent, int rest, Heads out) {
            if (b == '-') {
                if (!num.bounded || num.low < 0) {
                    out.add(new NumberFrame(num, SIGN, true, 0, 0, parent, rest));
                }
            } else if (b >= '0' && b <= '9') {
                new NumberFrame(num, SIGN, false, 0, 0, parent, rest).step(b, out);
            }
        }

        private NumberFrame with(int state, long value, int digits) {
            return new NumberFrame(num, state, negative, value, digits, parent, rest);
        }

        @Override
        void step(int b, Heads out) {
            boolean digit = b >= '0' && b <= '9';
            int d = b - '0';
            switch (state) {
                case SIGN -> {
                    if (digit && viable(d, 1)) {
                        out.add(with(d == 0 ? ZERO : INTEGER, d, 1));
                    }
                }
                case ZERO, INTEGER -> {
                    if (digit && state == INTEGER && digits < 16 && viable(value * 10 + d, digits + 1)) {
                        out.add(with(INTEGER, value * 10 + d, digits + 1));
                    } else if (b == '.' && fractionAllowed()) {
                        out.add(with(DOT, value, 0));
                    } else if ((b == 'e' || b == 'E') && !num.integer && !num.bounded) {
                        out.add(with(EXPONENT, value, 0));
                    }
                }
                case DOT -> {
                    if (digit) {
                        out.add(with(FRACTION, value, 1));
                    }
                }
                case FRACTION -> {
                    if (digit && digits < 16) {
                        out.add(with(FRACTION, value, digits + 1));
                    } else if ((b == 'e' || b == 'E') && !num.bounded) {
                        out.add(with(EXPONENT, value, 0));
                    }
                }
                case EXPONENT -> {
                    if (b == '+' || b == '-') {
                        out.add(with(EXPONENT_SIGN, value, 0));
                    } else if (digit) {
                        out.add(with(EXPONENT_DIGITS, value, 1));
                    }
                }
                case EXPONENT_SIGN -> {
                    if (digit) {
                        out.add(with(EXPONENT_DIGITS, value, 1));
                    }
                }
                default -> {
                    if (digit && digits < 2) {
                        out.add(with(EXPONENT_DIGITS, value, digits + 1));
                    }
                }
            }
            if (accepting()) {
                parent.step(b, out);
            }
        }

        @Override
        boolean accepting() {
            return switch (state) {
                case ZERO, INTEGER -> !num.bounded || inRange(value);
                case FRACTION, EXPONENT_DIGITS -> true;
                default -> false;
            };
        }

        private long signed(long magnitude) {
            return negative ? -magnitude : magnitude;
        }

        private boolean inRange(long magnitude) {
            long v = signed(magnitude);
            return v >= num.low && v <= num.high;
        }

        /** Whether an integer part starting with {@code magnitude} (of {@code n} digits) can end in range. */
        private boolean viable(long magnitude, int n) {
            return !num.bounded || extraDigits(magnitude, n) >= 0;
        }

        /** The fewest digits to append to reach the range, or -1. */
        private int extraDigits(long magnitude, int n) {
            long scale = 1;
            for (int k = 0; k <= 16 - n; k++, scale *= 10) {
                if (magnitude == 0 && k > 0) {
                    return -1;
                }
                long from = magnitude * scale;
                long to = from + scale - 1;
                long lo = negative ? -to : from;
                long hi = negative ? -from : to;
                if (lo <= num.high && hi >= num.low) {
                    return k;
                }
            }
            return -1;
        }

        /** Whether any fraction after this integer part stays in range. */
        private boolean fractionAllowed() {
            if (num.integer) {
                return false;
            }
            if (!num.bounded) {
                return true;
            }
            double lo = negative ? -(value + 1.0) : value;
            double hi = negative ? -(double) value : value + 1.0;
            boolean aboveLow = negative ? lo >= num.realLow : (num.lowExclusive ? lo > num.realLow : lo >= num.realLow);
            boolean belowHigh = negative ? (num.highExclusive ? hi < num.realHigh : hi <= num.realHigh)
                    : hi <= num.realHigh;
            return aboveLow && belowHigh;
        }

        @Override
        int cost() {
            return switch (state) {
                case SIGN -> {
                    if (!num.bounded) {
                        yield 1;
                    }
                    for (int n = 1; n <= 16; n++) {
                        long from = n == 1 ? 1 : pow10(n - 1);
                        if (-from >= num.low && -(pow10(n) - 1) <= num.high) {
                            yield n;
                        }
                    }
                    yield Shape.UNREACHABLE;
                }
                case ZERO, INTEGER -> num.bounded ? Math.max(0, extraDigits(value, digits)) : 0;
                case DOT, EXPONENT, EXPONENT_SIGN -> 1;
                default -> 0;
            };
        }

        private static long pow10(int n) {
            long p = 1;
            for (int i = 0; i < n; i++) {
                p *= 10;
            }
            return p;
        }

        @Override
        boolean sameState(Frame other) {
            var that = (NumberFrame) other;
            return num == that.num && state == that.state && negative == that.negative && value == that.value
                    && digits == that.digits;
        }

        @Override
        int stateHash() {
            return ((31 * System.identityHashCode(num) + state) * 31 + Long.hashCode(value)) * 31 + digits
                    + (negative ? 1 : 0);
        }
    }

    /** Inside one of a set of fixed texts. */
    static final class LiteralFrame extends Frame {
        private final Shape.Literal literal;
        private final int[] alive;   // text indices still matching
        private final int position;  // bytes matched

        private LiteralFrame(Shape.Literal literal, int[] alive, int position, Frame parent, int rest) {
            super(parent, rest);
            this.literal = literal;
            this.alive = alive;
            this.position = position;
        }

        static void begin(Shape.Literal literal, int b, Frame parent, int rest, Heads out) {
            int[] all = new int[literal.texts.length];
            for (int t = 0; t < all.length; t++) {
                all[t] = t;
            }
            new LiteralFrame(literal, all, 0, parent, rest).advance(b, out);
        }

        @Override
        void step(int b, Heads out) {
            advance(b, out);
            if (accepting()) {
                parent.step(b, out);
            }
        }

        private void advance(int b, Heads out) {
            int[] next = new int[alive.length];
            int n = 0;
            boolean ends = false;
            for (int t : alive) {
                byte[] text = literal.texts[t];
                if (text.length > position && (text[position] & 0xFF) == b) {
                    next[n++] = t;
                    ends |= text.length == position + 1;
                }
            }
            if (ends && n == 1) {
                out.add(parent);
            } else if (n > 0) {
                out.add(new LiteralFrame(literal, Arrays.copyOf(next, n), position + 1, parent, rest));
            }
        }

        @Override
        boolean accepting() {
            for (int t : alive) {
                if (literal.texts[t].length == position) {
                    return true;
                }
            }
            return false;
        }

        @Override
        int cost() {
            int best = Shape.UNREACHABLE;
            for (int t : alive) {
                best = Math.min(best, literal.texts[t].length - position);
            }
            return best;
        }

        @Override
        boolean sameState(Frame other) {
            var that = (LiteralFrame) other;
            return literal == that.literal && position == that.position && Arrays.equals(alive, that.alive);
        }

        @Override
        int stateHash() {
            return (31 * System.identityHashCode(literal) + position) * 31 + Arrays.hashCode(alive);
        }
    }
}
