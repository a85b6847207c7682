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
     * are encoded as ordinary text, as Hugging Face's {@code split_special_tokens} does
     * (user-defined added tokens such as {@code <think>} are still matched, as in llama.cpp).
     *
     * <p>The server never passes false: it encodes every prompt, raw or rendered from a chat,
     * with special tokens parsed, as Hugging Face's {@code apply_chat_template} and
     * llama.cpp's server do, so its prompts are the tokens the model's own tooling gives. A
     * chat message that writes a control token's text (say {@code <|im_end|>}) therefore
     * becomes that token. The request's sender owns the whole prompt, as with a raw
     * completion prompt, so this gives them nothing they do not have already; an
     * application that puts untrusted text into a conversation must remove control-token
     * text from it itself.
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
