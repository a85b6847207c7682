package io.gpud.inference;

import java.util.Arrays;

/**
 * The {@link Penalties} of one sequence over its latest tokens, kept as counts that change
 * by one token at a time: {@link #add} counts a token and, once the window of
 * {@code lastN} tokens is full, uncounts the oldest; {@link #apply} then touches only the
 * distinct tokens in the window, never the history. Applied as llama.cpp's penalties
 * sampler does: the repetition penalty first (a positive logit divided by it, any other
 * multiplied), then {@code count * frequency + presence} subtracted. Scheduler thread only.
 */
final class TokenCounts {
    private final Penalties penalties;
    private final int[] counts;
    private final boolean[] listed;
    private final int[] window; // ring of the latest lastN tokens, null when the window is the whole context
    private int[] distinct = new int[64];
    private int distinctCount;
    private int windowStart;
    private int windowSize;

    /** Counts for a vocabulary of {@code vocabSize} tokens; {@code penalties} must not be {@link Penalties#none}. */
    TokenCounts(Penalties penalties, int vocabSize) {
        if (penalties.none()) {
            throw new IllegalArgumentException("penalties that change nothing need no counts");
        }
        this.penalties = penalties;
        this.counts = new int[vocabSize];
        this.listed = new boolean[vocabSize];
        this.window = penalties.lastN() > 0 ? new int[penalties.lastN()] : null;
    }

    /** {@code token} is the latest in the context. */
    void add(int token) {
        if (window != null) {
            if (windowSize == window.length) {
                counts[window[windowStart]]--; // the oldest leaves; apply drops it from the distinct list
                window[windowStart] = token;
                windowStart = (windowStart + 1) % window.length;
            } else {
                window[(windowStart + windowSize++) % window.length] = token;
            }
        }
        if (counts[token]++ == 0 && !listed[token]) {
            listed[token] = true;
            if (distinctCount == distinct.length) {
                distinct = Arrays.copyOf(distinct, distinctCount * 2);
            }
            distinct[distinctCount++] = token;
        }
    }

    /** How many times {@code token} is in the window. */
    int count(int token) {
        return counts[token];
    }

    /** Penalises, in place, the logit of every token in the window. */
    void apply(float[] logits) {
        float repetition = penalties.repetition();
        float frequency = penalties.frequency();
        float presence = penalties.presence();
        int kept = 0;
        for (int i = 0; i < distinctCount; i++) {
            int token = distinct[i];
            int count = counts[token];
            if (count == 0) {
                listed[token] = false;
                continue;
            }
            distinct[kept++] = token;
            float logit = logits[token];
            logit = logit <= 0f ? logit * repetition : logit / repetition;
            logits[token] = logit - (count * frequency + presence);
        }
        distinctCount = kept;
    }
}
