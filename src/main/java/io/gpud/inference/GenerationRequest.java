package io.gpud.inference;

import java.util.List;
import java.util.Objects;

/**
 * One generation: a prompt as token ids and how to continue it.
 *
 * @param requestId    caller's id, for logs and cancellation
 * @param promptTokens the prompt, already tokenized (BOS included if the model wants one)
 * @param maxTokens    tokens to generate at most, &gt; 0
 * @param sampling     how the next token is chosen
 * @param stop         stop sequences (text); generation ends before them, they are not emitted
 * @param ignoreEos    keep going past end-of-sequence tokens until {@code maxTokens}
 */
public record GenerationRequest(
        String requestId,
        int[] promptTokens,
        int maxTokens,
        Sampling sampling,
        List<String> stop,
        boolean ignoreEos) {

    public GenerationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(sampling, "sampling");
        stop = List.copyOf(stop);
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("promptTokens is empty: a prompt needs at least one token");
        }
        if (maxTokens <= 0) {
            throw new IllegalArgumentException("maxTokens was " + maxTokens + ", must be > 0");
        }
    }

    /** Positions its KV cache holds: the prompt and the new tokens, at most {@code limit}. */
    public int cachePositions(int limit) {
        return (int) Math.min(limit, (long) promptTokens.length + maxTokens);
    }
}
