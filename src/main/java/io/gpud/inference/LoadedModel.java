package io.gpud.inference;

/**
 * A model ready to run: the transformer, its tokenizer and chat template, what it is, and
 * the mapped file that backs its weights (closed with the model).
 */
record LoadedModel(Llama llama, Tokenizer tokenizer, ChatTemplate chatTemplate, ModelInfo info,
                   AutoCloseable weightsFile) implements AutoCloseable {

    @Override
    public void close() {
        try {
            weightsFile.close();
        } catch (Exception e) {
            throw new InferenceException("cannot release the weights of " + info.name() + ": " + e.getMessage(), e);
        }
    }
}
