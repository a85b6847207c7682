package io.gpud.inference;

/**
 * What a loaded model is.
 *
 * @param name          the name clients use in requests ({@code model} field)
 * @param format        file format: {@code gguf}, {@code llama2c}, {@code safetensors}
 * @param architecture  e.g. {@code llama}
 * @param parameters    number of weights
 * @param contextLength maximum sequence length (prompt plus generated tokens)
 * @param vocabSize     number of tokens
 * @param weightType    storage type of the big matrices, e.g. {@code F32}, {@code F16}
 * @param sizeBytes     size of the weights in memory
 * @param createdEpochSeconds when the model was loaded (used as OpenAI's {@code created})
 */
public record ModelInfo(
        String name,
        String format,
        String architecture,
        long parameters,
        int contextLength,
        int vocabSize,
        String weightType,
        long sizeBytes,
        long createdEpochSeconds) {
}
