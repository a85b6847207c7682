package io.gpud.inference;

/** Text ⇄ token ids for one model. Implementations are immutable and thread-safe. */
public interface Tokenizer {

    int vocabSize();

    /**
     * Encodes text as Hugging Face's tokenizers do (special tokens written in the text, such
     * as {@code <|im_start|>}, become those tokens); prepends the BOS token when
     * {@code addBos} and the model adds one. This is right for text a chat template rendered
     * and for raw prompts, which may carry special tokens on purpose.
     */
    default int[] encode(String text, boolean addBos) {
        return encode(text, addBos, true);
    }

    /**
     * Encodes text; with {@code parseSpecial} false, special-token look-alikes in the text
     * are encoded as ordinary text, so text from an end user cannot inject control tokens
     * (user-defined added tokens such as {@code <think>} are still matched, as in
     * llama.cpp).
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

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
