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
 */
public record Completion(
        FinishReason finishReason,
        int promptTokens,
        int completionTokens,
        long queuedNanos,
        long promptNanos,
        long decodeNanos) {
}
