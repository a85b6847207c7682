package io.gpud.grammar;

import io.gpud.inference.Tokenizer;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * One tokenizer's vocabulary as the automaton sees it: every token's bytes in a trie, so the
 * tokens allowed after a parser state are found by walking the trie from that state and
 * dropping each subtree whose first byte the state refuses; the tokens that have no bytes
 * (control tokens), which are never part of a document except as a wrapping's special piece;
 * and the end-of-generation tokens. Built once per tokenizer and kept as long as the
 * tokenizer lives ({@link #of}).
 *
 * <p>Inside a JSON string most tokens are "interior": they keep the string open and
 * change nothing but its length. Those are kept apart, by length in code points, so that in
 * a string the allowed set is a range of them plus a walk of the much smaller trie of the
 * rest ({@link #notInterior}); a model writing a long string over a 128K vocabulary
 * then costs a copy of a range rather than a walk of the whole trie.
 */
final class Vocabulary {
    private static final Map<Tokenizer, Vocabulary> BY_TOKENIZER = new WeakHashMap<>();
    /** Compiled schemas kept per vocabulary: enough for the schemas a deployment's clients send. */
    static final int COMPILED_MAX = 64;

    private final WeakReference<Tokenizer> tokenizer; // the map's key: held weakly
    /** Compiled schemas of this vocabulary by schema text, least recently used first. */
    final Map<String, StructuredOutput> compiled = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, StructuredOutput> eldest) {
            return size() > COMPILED_MAX;
        }
    };
    final int size;
    final Trie all;                // every token with bytes
    final Trie notInterior;        // those that are not string interior
    final int[] interior;          // tokens that are string interior, by code points (ascending)
    final int[] interiorFrom;      // (code points + 2) interior tokens of c code points: interior[interiorFrom[c] .. interiorFrom[c + 1])
    final int[] endOfGeneration;
    final boolean[] control;       // (size) tokens with no bytes that do not end a generation
    final boolean[] singleByte;    // (256) whether some token is exactly this byte
    final byte[][] bytes;          // (size) each token's bytes

    private Vocabulary(Tokenizer tokenizer) {
        this.tokenizer = new WeakReference<>(tokenizer);
        this.size = tokenizer.vocabSize();
        this.bytes = new byte[size][];
        this.control = new boolean[size];
        this.singleByte = new boolean[256];
        var ends = new ArrayList<Integer>();
        var textual = new ArrayList<Integer>();
        var other = new ArrayList<Integer>();
        var inside = new ArrayList<int[]>(); // {code points, id}
        for (int id = 0; id < size; id++) {
            bytes[id] = tokenizer.tokenBytes(id);
            if (tokenizer.isEndOfGeneration(id)) {
                ends.add(id);
            } else if (bytes[id].length == 0) {
                control[id] = true;
            } else {
                textual.add(id);
                if (bytes[id].length == 1) {
                    singleByte[bytes[id][0] & 0xFF] = true;
                }
                int codePoints = interiorCodePoints(bytes[id]);
                if (codePoints > 0) {
                    inside.add(new int[] {codePoints, id});
                } else {
                    other.add(id);
                }
            }
        }
        this.endOfGeneration = ends.stream().mapToInt(Integer::intValue).toArray();
        this.all = new Trie(textual, bytes);
        this.notInterior = new Trie(other, bytes);
        inside.sort(Comparator.comparingInt((int[] e) -> e[0]));
        int maxCodePoints = inside.isEmpty() ? 0 : inside.getLast()[0];
        this.interior = new int[inside.size()];
        this.interiorFrom = new int[maxCodePoints + 2];
        for (int i = 0; i < inside.size(); i++) {
            interior[i] = inside.get(i)[1];
            interiorFrom[inside.get(i)[0] + 1]++;
        }
        for (int c = 0; c <= maxCodePoints; c++) {
            interiorFrom[c + 1] += interiorFrom[c];
        }
    }

    /**
     * The code points of a token that may stand anywhere inside a JSON string and leaves it
     * where it was (complete UTF-8, no quote, backslash or control character), or 0.
     */
    static int interiorCodePoints(byte[] token) {
        int codePoints = 0;
        for (int i = 0; i < token.length; ) {
            int b = token[i] & 0xFF;
            int continuation;
            int low = 0x80;
            int high = 0xBF;
            if (b == '"' || b == '\\' || b < 0x20) {
                return 0;
            } else if (b < 0x80) {
                continuation = 0;
            } else if (b >= 0xC2 && b <= 0xDF) {
                continuation = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                continuation = 2;
                low = b == 0xE0 ? 0xA0 : low;
                high = b == 0xED ? 0x9F : high;
            } else if (b >= 0xF0 && b <= 0xF4) {
                continuation = 3;
                low = b == 0xF0 ? 0x90 : low;
                high = b == 0xF4 ? 0x8F : high;
            } else {
                return 0;
            }
            if (i + continuation >= token.length) {
                return 0;
            }
            for (int k = 1; k <= continuation; k++) {
                int c = token[i + k] & 0xFF;
                if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) {
                    return 0;
                }
            }
            i += continuation + 1;
            codePoints++;
        }
        return codePoints;
    }

    /**
     * Some tokens' bytes in a trie stored in preorder: node {@code n}'s children start at
     * {@code n + 1} and follow each other by {@link #end}, so it is a few flat arrays
     * whatever the vocabulary size. Node 0 is the root.
     */
    static final class Trie {
        final byte[] label;      // (nodes) the byte on the edge into the node
        final int[] end;         // (nodes) one past the node's subtree
        final int[] tokensFrom;  // (nodes + 1) tokens ending at node n: tokens[tokensFrom[n] .. tokensFrom[n + 1])
        final int[] tokens;

        Trie(List<Integer> ids, byte[][] bytes) {
            Integer[] sorted = ids.toArray(Integer[]::new);
            Arrays.sort(sorted, Comparator.comparing((Integer id) -> bytes[id], Arrays::compareUnsigned));
            // preorder: walk the sorted tokens, keeping the path of open nodes
            var labels = new ByteList();
            int[] nodeEnd = new int[16];
            int[] owner = new int[sorted.length]; // node each sorted token ends at
            int[] path = new int[256];
            int depth = 0;
            labels.add((byte) 0);
            int nodes = 1;
            byte[] previous = new byte[0];
            for (int s = 0; s < sorted.length; s++) {
                byte[] b = bytes[sorted[s]];
                int common = 0;
                while (common < Math.min(b.length, depth) && b[common] == previous[common]) {
                    common++;
                }
                while (depth > common) {
                    nodeEnd = grow(nodeEnd, path[depth]);
                    nodeEnd[path[depth]] = nodes;
                    depth--;
                }
                for (int i = common; i < b.length; i++) {
                    if (depth + 1 >= path.length) {
                        path = Arrays.copyOf(path, path.length * 2);
                    }
                    path[++depth] = nodes++;
                    labels.add(b[i]);
                }
                owner[s] = path[depth];
                previous = b;
            }
            while (depth > 0) {
                nodeEnd = grow(nodeEnd, path[depth]);
                nodeEnd[path[depth]] = nodes;
                depth--;
            }
            nodeEnd = grow(nodeEnd, 0);
            nodeEnd[0] = nodes;
            this.label = labels.toArray();
            this.end = Arrays.copyOf(nodeEnd, nodes);
            this.tokensFrom = new int[nodes + 1];
            for (int s = 0; s < sorted.length; s++) {
                tokensFrom[owner[s] + 1]++;
            }
            for (int n = 0; n < nodes; n++) {
                tokensFrom[n + 1] += tokensFrom[n];
            }
            this.tokens = new int[sorted.length];
            int[] fill = Arrays.copyOf(tokensFrom, nodes);
            for (int s = 0; s < sorted.length; s++) {
                tokens[fill[owner[s]]++] = sorted[s];
            }
        }
    }

    private static int[] grow(int[] array, int index) {
        return index < array.length ? array : Arrays.copyOf(array, Math.max(index + 1, array.length * 2));
    }

    /** The vocabulary of {@code tokenizer}, built on first use and kept while the tokenizer lives. */
    static Vocabulary of(Tokenizer tokenizer) {
        synchronized (BY_TOKENIZER) {
            return BY_TOKENIZER.computeIfAbsent(tokenizer, Vocabulary::new);
        }
    }

    boolean isEndOfGeneration(int token) {
        for (int id : endOfGeneration) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code text} as the pieces a wrapping is made of: runs of bytes, and the control tokens
     * that the tokenizer reads in it (Mistral's {@code [TOOL_CALLS]}), each found by encoding
     * the text with special tokens parsed and locating the shortest stretch that encodes to it.
     */
    List<Frame.Piece> pieces(String text) {
        Tokenizer tokenizer = this.tokenizer.get();
        var pieces = new ArrayList<Frame.Piece>();
        String remaining = text;
        while (!remaining.isEmpty()) {
            int special = firstControl(tokenizer, remaining);
            if (special < 0) {
                pieces.add(new Frame.Piece(remaining.getBytes(StandardCharsets.UTF_8), -1));
                break;
            }
            int to = 1;
            while (!contains(tokenizer.encode(remaining.substring(0, to), false, true), special)) {
                to++;
            }
            int from = to - 1;
            while (!contains(tokenizer.encode(remaining.substring(from, to), false, true), special)) {
                from--;
            }
            if (from > 0) {
                pieces.add(new Frame.Piece(remaining.substring(0, from).getBytes(StandardCharsets.UTF_8), -1));
            }
            pieces.add(new Frame.Piece(null, special));
            remaining = remaining.substring(to);
        }
        return pieces;
    }

    private int firstControl(Tokenizer tokenizer, String text) {
        for (int id : tokenizer.encode(text, false, true)) {
            if (id >= 0 && id < size && control[id]) {
                return id;
            }
        }
        return -1;
    }

    private static boolean contains(int[] ids, int id) {
        for (int i : ids) {
            if (i == id) {
                return true;
            }
        }
        return false;
    }

    private static final class ByteList {
        private byte[] data = new byte[1024];
        private int size;

        void add(byte b) {
            if (size == data.length) {
                data = Arrays.copyOf(data, size * 2);
            }
            data[size++] = b;
        }

        byte[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
