package io.gpud.inference;

import java.util.Objects;

/**
 * One text to embed: the model's final hidden state (after the output norm) over every
 * prompt position, mean-pooled and, when {@code normalize}, scaled to unit L2 length, as
 * llama.cpp's {@code --embedding --pooling mean} does for decoder models.
 *
 * @param requestId caller's id, for logs and cancellation
 * @param tokens    the text, tokenized (BOS included if the model wants one), not empty
 * @param normalize scale the pooled vector to unit length
 */
public record EmbeddingRequest(String requestId, int[] tokens, boolean normalize) {
    public EmbeddingRequest {
        Objects.requireNonNull(requestId, "requestId");
        if (tokens.length == 0) {
            throw new IllegalArgumentException("tokens is empty: an embedding needs at least one token");
        }
    }
}
