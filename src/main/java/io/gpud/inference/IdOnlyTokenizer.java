package io.gpud.inference;

import java.util.Set;

/**
 * The stand-in for a model loaded without a tokenizer (a llama2.c checkpoint with no
 * tokenizer.bin): it knows the vocabulary size and the special ids, so generation on
 * token ids works, and refuses everything that needs text.
 */
final class IdOnlyTokenizer extends SpecialTokenTokenizer {
    private final String modelName;
    private final int vocabSize;

    IdOnlyTokenizer(String modelName, int vocabSize, int bos, int eos, Set<Integer> endTokens) {
        super(bos, eos, endTokens);
        this.modelName = modelName;
        this.vocabSize = vocabSize;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        throw noText();
    }

    @Override
    public byte[] tokenBytes(int token) {
        throw noText();
    }

    @Override
    public String decode(int[] tokens) {
        throw noText();
    }

    private InferenceException noText() {
        return new InferenceException("model " + modelName + " was loaded without a tokenizer: it works on token ids"
                + " only (give a tokenizer file to use text)");
    }
}
