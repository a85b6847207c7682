package io.gpud.inference;

/**
 * Receives the events of one generation, on an engine thread. Exactly one of
 * {@link #onDone} or {@link #onFailure} is called last. Implementations must not block.
 */
public interface GenerationListener {

    /**
     * One generated token. {@code text} is the text that became final with this token: it
     * may be empty while a multi-byte UTF-8 character is incomplete or while the text could
     * still be the start of a stop sequence; stop sequences themselves are never emitted.
     */
    void onToken(int token, String text);

    /**
     * {@link #onToken(int, String)} with the token's log-probabilities, which are null
     * unless the request asked for them ({@link GenerationRequest#topLogprobs()} &ge; 0).
     * The engine calls this one; by default it drops the log-probabilities.
     */
    default void onToken(int token, String text, TokenLogprobs logprobs) {
        onToken(token, text);
    }

    /** The generation ended normally or was cancelled. */
    void onDone(Completion completion);

    /** The generation failed; nothing more follows. */
    void onFailure(RuntimeException error);
}
