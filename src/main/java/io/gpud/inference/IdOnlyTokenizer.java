package io.gpud.inference;

import java.util.Set;

/**
 * The stand-in for a model loaded without a tokenizer (a llama2.c checkpoint with no
 * tokenizer.bin): it knows the vocabulary size and the special ids, so generation on
 * token ids works, and refuses everything that needs text.
 */
final class IdOnlyTokenizer implements Tokenizer {
    private final String modelName;
    private final int vocabSize;
    private final int bos;
    private final int eos;
    private final Set<Integer> endTokens;

    IdOnlyTokenizer(String modelName, int vocabSize, int bos, int eos, Set<Integer> endTokens) {
        this.modelName = modelName;
        this.vocabSize = vocabSize;
        this.bos = bos;
        this.eos = eos;
        this.endTokens = Set.copyOf(endTokens);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        throw noText();
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public boolean isEndOfGeneration(int token) {
        return endTokens.contains(token);
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
