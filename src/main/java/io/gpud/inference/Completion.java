package io.gpud.inference;

/**
 * How a generation ended, with counts and timings (nanoseconds).
 *
 * @param finishReason    why it ended
 * @param promptTokens    tokens in the prompt
 * @param completionTokens tokens generated (stop sequences included in the count)
 * @param queuedNanos     time from submit to the first forward step
 * @param promptNanos     time spent processing the prompt
 * @param decodeNanos     time spent generating after the prompt
 * @param cachedTokens    prompt tokens whose keys and values came from the prefix cache
 *                        instead of being computed
 */
public record Completion(
        FinishReason finishReason,
        int promptTokens,
        int completionTokens,
        long queuedNanos,
        long promptNanos,
        long decodeNanos,
        int cachedTokens) {

    /** A completion whose prompt was computed whole. */
    public Completion(FinishReason finishReason, int promptTokens, int completionTokens, long queuedNanos,
                      long promptNanos, long decodeNanos) {
        this(finishReason, promptTokens, completionTokens, queuedNanos, promptNanos, decodeNanos, 0);
    }
}
