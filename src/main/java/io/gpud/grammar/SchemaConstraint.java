package io.gpud.grammar;

import io.gpud.inference.TokenConstraint;
import java.util.Arrays;
import java.util.Comparator;

/**
 * One generation's constraint: the parser state (a set of {@link Frame} heads) and the
 * tokens left. A token is allowed when its bytes lead somewhere and the shortest finish of
 * the document from there, plus the end-of-generation token, fits in the tokens left after
 * it. Every byte of a shortest finish is a token of its own (the compiler checks), so the
 * shortest finish in bytes bounds it in tokens and a state that fits always has a next token
 * that fits: the document is complete, and ended by the end-of-generation token, within the
 * budget. Once complete, an end-of-generation token is allowed, and only it once nothing
 * else can follow.
 */
final class SchemaConstraint implements TokenConstraint {
    private final Vocabulary vocabulary;
    private Frame[] heads;
    private int remaining;  // tokens this generation may still produce
    private boolean ended;
    private final Frame.Heads scratch = new Frame.Heads();

    SchemaConstraint(Vocabulary vocabulary, Frame start, int maxTokens) {
        this.vocabulary = vocabulary;
        this.heads = new Frame[] {start};
        this.remaining = maxTokens;
    }

    /** The fewest bytes that finish the document from {@code heads}. */
    static int shortest(Frame[] heads) {
        int best = Shape.UNREACHABLE;
        for (Frame f : heads) {
            best = Math.min(best, f.total());
        }
        return best;
    }

    static boolean complete(Frame[] heads) {
        for (Frame f : heads) {
            if (f.complete()) {
                return true;
            }
        }
        return false;
    }

    private static final Frame[] NONE = new Frame[0];

    /**
     * The most heads a state keeps. Equal heads collapse as they are added, but a schema
     * whose alternatives differ and overlap ({@code anyOf} of two arrays of itself that differ
     * in {@code maxItems}, say) can still double its parses at every nesting level; past this
     * many the state keeps the heads with the shortest finishes and drops the rest. Every head
     * is a valid prefix, so the document still validates, and the shortest finish is kept, so
     * it still ends within the budget; the model only loses some of the ways to go on.
     */
    static final int HEADS_MAX = 256;

    /** The state after byte {@code b}; {@code scratch} is reused, so refusals allocate nothing. */
    static Frame[] step(Frame[] heads, int b, Frame.Heads scratch) {
        scratch.clear();
        for (Frame f : heads) {
            f.step(b, scratch);
        }
        if (scratch.size > HEADS_MAX) {
            Frame[] all = scratch.toArray();
            Arrays.sort(all, Comparator.comparingInt(Frame::total)); // stable: equal finishes keep their order
            return Arrays.copyOf(all, HEADS_MAX);
        }
        return scratch.size == 0 ? NONE : scratch.toArray();
    }

    /** Whether a state reached by one more token still finishes in time. */
    private boolean fits(Frame[] next) {
        return next.length > 0 && (long) shortest(next) + 1 <= remaining - 1;
    }

    @Override
    public boolean allows(int token) {
        if (ended || token < 0 || token >= vocabulary.size) {
            return false;
        }
        if (vocabulary.isEndOfGeneration(token)) {
            return complete(heads);
        }
        if (vocabulary.control[token]) {
            Frame[] next = afterSpecial(token);
            return next != null && fits(next);
        }
        Frame[] state = heads;
        for (byte b : vocabulary.bytes[token]) {
            state = step(state, b & 0xFF, scratch);
            if (state.length == 0) {
                return false;
            }
        }
        return fits(state);
    }

    private Frame[] afterSpecial(int token) {
        for (Frame f : heads) {
            if (f.special() == token) {
                return new Frame[] {f.afterSpecial()};
            }
        }
        return null;
    }

    @Override
    public void mask(float[] logits) {
        boolean[] allowed = new boolean[logits.length];
        int count = 0;
        if (!ended) {
            if (heads.length == 1 && heads[0] instanceof Frame.StringFrame string && string.plain()) {
                count += interior(string, allowed);
                count += walk(vocabulary.notInterior, 0, heads, allowed);
            } else {
                count += walk(vocabulary.all, 0, heads, allowed);
            }
            for (Frame f : heads) {
                int special = f.special();
                if (special >= 0 && special < allowed.length && !allowed[special] && fits(new Frame[] {f.afterSpecial()})) {
                    allowed[special] = true;
                    count++;
                }
            }
            if (complete(heads)) {
                for (int id : vocabulary.endOfGeneration) {
                    if (id < allowed.length && !allowed[id]) {
                        allowed[id] = true;
                        count++;
                    }
                }
            }
        }
        if (count == 0) {
            throw new IllegalStateException("no token may follow: " + Arrays.toString(heads) + " with " + remaining
                    + " tokens left");
        }
        for (int i = 0; i < logits.length; i++) {
            if (!allowed[i]) {
                logits[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Marks the tokens of {@code trie} below node {@code node}, reached with {@code state}:
     * a child whose byte no head accepts is dropped with its whole subtree.
     */
    private int walk(Vocabulary.Trie trie, int node, Frame[] state, boolean[] allowed) {
        int count = 0;
        int stop = trie.end[node];
        for (int child = node + 1; child < stop; child = trie.end[child]) {
            Frame[] next = step(state, trie.label[child] & 0xFF, scratch);
            if (next.length == 0) {
                continue;
            }
            if (trie.tokensFrom[child] < trie.tokensFrom[child + 1] && fits(next)) {
                for (int t = trie.tokensFrom[child]; t < trie.tokensFrom[child + 1]; t++) {
                    int id = trie.tokens[t];
                    if (id < allowed.length) {
                        allowed[id] = true;
                        count++;
                    }
                }
            }
            count += walk(trie, child, next, allowed);
        }
        return count;
    }

    /**
     * Marks the string-interior tokens that may follow in a string: as many code points as
     * its maxLength leaves, and enough to reach its minLength while the rest still fits.
     */
    private int interior(Frame.StringFrame string, boolean[] allowed) {
        // an interior token of c code points shortens the finish by min(c, code points minLength still wants)
        long slack = remaining - 2L - string.total();
        long wanted = string.minLengthLeft();
        if (slack < 0 && wanted < -slack) {
            return 0;
        }
        int fewest = (int) Math.max(1, -slack);
        int most = Math.min(string.maxLengthLeft(), vocabulary.interiorFrom.length - 2);
        int count = 0;
        for (int c = fewest; c <= most; c++) {
            for (int i = vocabulary.interiorFrom[c]; i < vocabulary.interiorFrom[c + 1]; i++) {
                int id = vocabulary.interior[i];
                if (id < allowed.length) {
                    allowed[id] = true;
                    count++;
                }
            }
        }
        return count;
    }

    @Override
    public void accept(int token) {
        Frame[] next;
        if (ended || token < 0 || token >= vocabulary.size) {
            next = null;
        } else if (vocabulary.isEndOfGeneration(token)) {
            next = complete(heads) ? heads : null;
            ended = next != null;
        } else if (vocabulary.control[token]) {
            next = afterSpecial(token);
        } else {
            next = heads;
            for (byte b : vocabulary.bytes[token]) {
                next = step(next, b & 0xFF, scratch);
            }
        }
        if (next == null || next.length == 0 || (!ended && !fits(next))) {
            throw new IllegalArgumentException("token " + token + " may not come next");
        }
        heads = next;
        remaining--;
    }
}
