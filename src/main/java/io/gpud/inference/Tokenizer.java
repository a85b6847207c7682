package io.gpud.inference;

/** Text ⇄ token ids for one model. Implementations are immutable and thread-safe. */
public interface Tokenizer {

    int vocabSize();

    /** Encodes text; prepends the BOS token when {@code addBos} and the model has one. */
    int[] encode(String text, boolean addBos);

    /** Beginning-of-sequence token id, or -1. */
    int bos();

    /** End-of-sequence token id, or -1. */
    int eos();

    /** Whether generating {@code token} ends the sequence (EOS, end-of-turn tokens). */
    boolean isEndOfGeneration(int token);

    /**
     * The raw bytes this token contributes to the output text (byte-fallback tokens give
     * one byte; BOS/EOS and other control tokens give none). Concatenating these bytes and
     * decoding as UTF-8 gives the text.
     */
    byte[] tokenBytes(int token);

    /** Decodes a whole sequence; invalid UTF-8 becomes U+FFFD. */
    String decode(int[] tokens);
}
