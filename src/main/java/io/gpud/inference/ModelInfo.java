package io.gpud.inference;

/**
 * What a loaded model is.
 *
 * @param name          the name clients use in requests ({@code model} field)
 * @param format        file format: {@code gguf}, {@code llama2c}, {@code safetensors}
 * @param architecture  the family, as GGUF names it: {@code llama}, {@code qwen2}, {@code qwen3},
 *                      {@code gemma2}, {@code gemma3}, {@code phi3}
 * @param parameters    number of weights
 * @param contextLength maximum sequence length (prompt plus generated tokens)
 * @param vocabSize     number of tokens
 * @param weightType    the quantization: a GGUF file's preset ({@code general.file_type}, e.g.
 *                      {@code Q4_K_M}, which mixes tensor types), else the storage type of the
 *                      attention weights, e.g. {@code F32}, {@code F16}, {@code Q8_0}
 * @param sizeBytes     size of the weights in memory
 * @param createdEpochSeconds when the model was loaded (used as OpenAI's {@code created})
 * @param embeddingLength width of the hidden state (and of an embedding), or 0 where unknown
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
        long createdEpochSeconds,
        int embeddingLength) {

    /** A model whose hidden width is not known. */
    public ModelInfo(String name, String format, String architecture, long parameters, int contextLength,
                     int vocabSize, String weightType, long sizeBytes, long createdEpochSeconds) {
        this(name, format, architecture, parameters, contextLength, vocabSize, weightType, sizeBytes,
                createdEpochSeconds, 0);
    }
}
