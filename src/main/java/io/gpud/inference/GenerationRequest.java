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
 * @param penalties    penalties on tokens already in the context
 * @param topLogprobs  how many alternatives each token's {@link TokenLogprobs} carries (0 to 20), or -1
 *                     for no log-probabilities at all
 * @param constraint   which tokens may come next (structured output), or null for any
 * @param isolated     a secure-envelope request: its keys and values are neither taken from
 *                     nor left in the prefix cache, and are zeroed when it ends
 *                     ({@link PrefixCache.Use#PRIVATE})
 * @param prefixNames  the names of the prompt's whole blocks ({@link PrefixHashes}) as the
 *                     node that routed the request computed them, or null: the engine then
 *                     names them itself. Names never vouch for contents: a block is reused
 *                     only once its tokens are compared
 */
public record GenerationRequest(
        String requestId,
        int[] promptTokens,
        int maxTokens,
        Sampling sampling,
        List<String> stop,
        boolean ignoreEos,
        Penalties penalties,
        int topLogprobs,
        TokenConstraint constraint,
        boolean isolated,
        long[] prefixNames) {

    /** Most alternatives a token's log-probabilities carry. */
    public static final int MAX_TOP_LOGPROBS = 20;

    public GenerationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(penalties, "penalties");
        if (topLogprobs < -1 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw new IllegalArgumentException("topLogprobs was " + topLogprobs + ", must be -1 or in [0, "
                    + MAX_TOP_LOGPROBS + "]");
        }
        stop = List.copyOf(stop);
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("promptTokens is empty: a prompt needs at least one token");
        }
        if (maxTokens <= 0) {
            throw new IllegalArgumentException("maxTokens was " + maxTokens + ", must be > 0");
        }
    }

    /** A request that shares the prefix cache. */
    public GenerationRequest(String requestId, int[] promptTokens, int maxTokens, Sampling sampling,
                             List<String> stop, boolean ignoreEos, Penalties penalties, int topLogprobs,
                             TokenConstraint constraint) {
        this(requestId, promptTokens, maxTokens, sampling, stop, ignoreEos, penalties, topLogprobs, constraint, false,
                null);
    }

    /** A request with no penalties, no log-probabilities and no constraint. */
    public GenerationRequest(String requestId, int[] promptTokens, int maxTokens, Sampling sampling,
                             List<String> stop, boolean ignoreEos) {
        this(requestId, promptTokens, maxTokens, sampling, stop, ignoreEos, Penalties.NONE, -1, null);
    }

    /** Positions its KV cache holds: the prompt and the new tokens, at most {@code limit}. */
    public int cachePositions(int limit) {
        return (int) Math.min(limit, (long) promptTokens.length + maxTokens);
    }
}
