package io.gpud.grammar;

import io.gpud.inference.TokenConstraint;
import java.util.Arrays;

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

    static Frame[] step(Frame[] heads, int b) {
        var out = new Frame.Heads();
        for (Frame f : heads) {
            f.step(b, out);
        }
        return out.toArray();
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
            state = step(state, b & 0xFF);
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
            count += walk(0, heads, allowed);
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

    /** Marks the tokens in the subtree of trie node {@code node}'s children, reached with {@code state}. */
    private int walk(int node, Frame[] state, boolean[] allowed) {
        int count = 0;
        int stop = vocabulary.end[node];
        for (int child = node + 1; child < stop; child = vocabulary.end[child]) {
            Frame[] next = step(state, vocabulary.label[child] & 0xFF);
            if (next.length == 0) {
                continue;
            }
            if (vocabulary.tokensFrom[child] < vocabulary.tokensFrom[child + 1] && fits(next)) {
                for (int t = vocabulary.tokensFrom[child]; t < vocabulary.tokensFrom[child + 1]; t++) {
                    int id = vocabulary.tokens[t];
                    if (id < allowed.length) {
                        allowed[id] = true;
                        count++;
                    }
                }
            }
            count += walk(child, next, allowed);
        }
        return count;
    }

    @Override
    public void accept(int token) {
        if (!allows(token)) {
            throw new IllegalArgumentException("token " + token + " may not come next");
        }
        remaining--;
        if (vocabulary.isEndOfGeneration(token)) {
            ended = true;
        } else if (vocabulary.control[token]) {
            heads = afterSpecial(token);
        } else {
            Frame[] state = heads;
            for (byte b : vocabulary.bytes[token]) {
                state = step(state, b & 0xFF);
            }
            heads = state;
        }
    }

    /** Whether the document is complete (an end-of-generation token may come next). */
    boolean complete() {
        return complete(heads);
    }
}
