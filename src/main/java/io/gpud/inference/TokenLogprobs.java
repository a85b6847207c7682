package io.gpud.inference;

/**
 * The log-probability of a sampled token and of the most likely alternatives, from the
 * distribution it was drawn from.
 *
 * @param token      the sampled token
 * @param logprob    its natural-log probability
 * @param topTokens  the most likely tokens, most likely first (as many as the request asked)
 * @param topLogprobs their log-probabilities, in the same order
 */
public record TokenLogprobs(int token, float logprob, int[] topTokens, float[] topLogprobs) {
}
