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
 * <p>The trie is stored in preorder: node {@code n}'s children start at {@code n + 1} and
 * follow each other by {@link #end}, so it is four flat arrays whatever the vocabulary size.
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
    final byte[] label;      // (nodes) the byte on the edge into the node; node 0 is the root
    final int[] end;         // (nodes) one past the node's subtree
    final int[] tokensFrom;  // (nodes + 1) tokens ending at node n: tokens[tokensFrom[n] .. tokensFrom[n + 1])
    final int[] tokens;
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
            }
        }
        this.endOfGeneration = ends.stream().mapToInt(Integer::intValue).toArray();
        Integer[] sorted = textual.toArray(Integer[]::new);
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
            while (common < Math.min(b.length, previous.length) && common < depth && b[common] == previous[common]) {
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
