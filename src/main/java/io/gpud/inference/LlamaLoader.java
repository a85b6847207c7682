package io.gpud.inference;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufTensor;
import io.gpud.model.Llama2cCheckpoint;
import io.gpud.model.Llama2cTokenizerFile;
import io.gpud.model.ModelFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * Loads a Llama model from a GGUF file or a llama2.c checkpoint, told apart by the magic
 * {@code "GGUF"} at the start of the file, and checks every tensor's shape against the
 * hyperparameters.
 */
final class LlamaLoader {
    /**
     * Tokens that end a generation of a llama2.c model: 1 (BOS), which llama2.c's
     * {@code run.c} treats as the delimiter between stories and stops on, and 2 (EOS).
     */
    static final Set<Integer> LLAMA2C_END_TOKENS = Set.of(1, 2);
    private static final byte[] GGUF_MAGIC = {'G', 'G', 'U', 'F'};

    private LlamaLoader() {
    }

    /**
     * @param tokenizerFile a llama2.c tokenizer.bin, or null to use the tokenizer in the
     *                      model file (GGUF) or none (llama2.c: token ids only)
     */
    static LoadedModel load(Path modelFile, Path tokenizerFile, String name, long createdEpochSeconds) {
        return isGguf(modelFile)
                ? loadGguf(modelFile, tokenizerFile, name, createdEpochSeconds)
                : loadLlama2c(modelFile, tokenizerFile, name, createdEpochSeconds);
    }

    private static boolean isGguf(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(4), GGUF_MAGIC);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException("model file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
    }

    private static LoadedModel loadGguf(Path path, Path tokenizerFile, String name, long created) {
        GgufFile gguf = GgufFile.open(path);
        try {
            String architecture = gguf.getString("general.architecture");
            if (!architecture.equals("llama")) {
                throw new InferenceException(path + ": architecture " + architecture + " is not supported, only llama");
            }
            int dim = gguf.getInt("llama.embedding_length");
            int heads = gguf.getInt("llama.attention.head_count");
            GgufTensor embedding = gguf.tensor("token_embd.weight");
            long[] embeddingDims = embedding.dims();
            if (embeddingDims.length != 2 || embeddingDims[0] != dim) {
                throw new InferenceException(path + ": tensor token_embd.weight has dims " + Arrays.toString(embeddingDims)
                        + ", expected [" + dim + ", vocab]");
            }
            boolean tied = !gguf.tensors().containsKey("output.weight");
            var config = new LlamaConfig(
                    dim,
                    gguf.getInt("llama.feed_forward_length"),
                    gguf.getInt("llama.block_count"),
                    heads,
                    gguf.getInt("llama.attention.head_count_kv", heads),
                    Math.toIntExact(embeddingDims[1]),
                    gguf.getInt("llama.context_length"),
                    gguf.getFloat("llama.rope.freq_base", 10000f),
                    gguf.getFloat("llama.attention.layer_norm_rms_epsilon", 1e-5f),
                    tied);
            int layers = config.layers();
            int kvDim = config.kvDim();
            int hidden = config.hiddenDim();
            var weights = new LlamaWeights(
                    matrix(gguf, "token_embd.weight", config.vocabSize(), dim),
                    vectors(layers, l -> vector(gguf, "blk." + l + ".attn_norm.weight", dim)),
                    matrices(layers, l -> matrix(gguf, "blk." + l + ".attn_q.weight", dim, dim)),
                    matrices(layers, l -> matrix(gguf, "blk." + l + ".attn_k.weight", kvDim, dim)),
                    matrices(layers, l -> matrix(gguf, "blk." + l + ".attn_v.weight", kvDim, dim)),
                    matrices(layers, l -> matrix(gguf, "blk." + l + ".attn_output.weight", dim, dim)),
                    vectors(layers, l -> vector(gguf, "blk." + l + ".ffn_norm.weight", dim)),
                    matrices(layers, l -> matrix(gguf, "blk." + l + ".ffn_gate.weight", hidden, dim)),
                    matrices(layers, l -> matrix(gguf, "blk." + l + ".ffn_down.weight", dim, hidden)),
                    matrices(layers, l -> matrix(gguf, "blk." + l + ".ffn_up.weight", hidden, dim)),
                    vector(gguf, "output_norm.weight", dim),
                    matrix(gguf, tied ? "token_embd.weight" : "output.weight", config.vocabSize(), dim));

            Tokenizer tokenizer;
            if (tokenizerFile != null) {
                tokenizer = llama2cTokenizer(tokenizerFile, config.vocabSize());
            } else if (gguf.has("tokenizer.ggml.tokens")) {
                String model = gguf.getString("tokenizer.ggml.model", "llama");
                if (!model.equals("llama")) {
                    throw new InferenceException(path + ": tokenizer model " + model
                            + " is not supported, only llama (sentencepiece)");
                }
                tokenizer = SentencePieceTokenizer.fromGguf(gguf);
            } else {
                int eos = gguf.getInt("tokenizer.ggml.eos_token_id", -1);
                tokenizer = new IdOnlyTokenizer(name, config.vocabSize(), gguf.getInt("tokenizer.ggml.bos_token_id", -1),
                        eos, eos >= 0 ? Set.of(eos) : Set.of());
            }
            checkVocab(path, tokenizer, config);

            long parameters = 0;
            long bytes = 0;
            for (GgufTensor tensor : gguf.tensors().values()) {
                parameters += tensor.elements();
                bytes += tensor.data().byteSize();
            }
            GgmlType weightType = gguf.tensor("blk.0.attn_q.weight").type();
            var info = new ModelInfo(name, "gguf", architecture, parameters, config.contextLength(),
                    config.vocabSize(), weightType.name(), bytes, created);
            return new LoadedModel(new Llama(config, weights), tokenizer, new PlainChatTemplate(), info, gguf);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    private static LoadedModel loadLlama2c(Path path, Path tokenizerFile, String name, long created) {
        Llama2cCheckpoint checkpoint = Llama2cCheckpoint.open(path);
        try {
            Llama2cCheckpoint.Header h = checkpoint.header();
            var config = new LlamaConfig(h.dim(), h.hiddenDim(), h.layers(), h.heads(), h.kvHeads(), h.vocabSize(),
                    h.seqLen(), 10000f, 1e-5f, h.sharedClassifier());
            int dim = config.dim();
            int kvDim = config.kvDim();
            int hidden = config.hiddenDim();
            var weights = new LlamaWeights(
                    FloatTensor.of(GgmlType.F32, checkpoint.tokenEmbedding()),
                    vectors(h.layers(), l -> layerSlice(checkpoint.rmsAttention(), l, dim).toArray()),
                    matrices(h.layers(), l -> layerSlice(checkpoint.wq(), l, (long) dim * dim)),
                    matrices(h.layers(), l -> layerSlice(checkpoint.wk(), l, (long) kvDim * dim)),
                    matrices(h.layers(), l -> layerSlice(checkpoint.wv(), l, (long) kvDim * dim)),
                    matrices(h.layers(), l -> layerSlice(checkpoint.wo(), l, (long) dim * dim)),
                    vectors(h.layers(), l -> layerSlice(checkpoint.rmsFfn(), l, dim).toArray()),
                    matrices(h.layers(), l -> layerSlice(checkpoint.w1(), l, (long) hidden * dim)),
                    matrices(h.layers(), l -> layerSlice(checkpoint.w2(), l, (long) dim * hidden)),
                    matrices(h.layers(), l -> layerSlice(checkpoint.w3(), l, (long) hidden * dim)),
                    FloatTensor.of(GgmlType.F32, checkpoint.rmsFinal()).toArray(),
                    FloatTensor.of(GgmlType.F32, checkpoint.classifier()));
            Tokenizer tokenizer = tokenizerFile != null
                    ? llama2cTokenizer(tokenizerFile, h.vocabSize())
                    : new IdOnlyTokenizer(name, h.vocabSize(), 1, 2, LLAMA2C_END_TOKENS);
            checkVocab(path, tokenizer, config);
            long bytes = checkpoint.weightBytes();
            var info = new ModelInfo(name, "llama2c", "llama", bytes / Float.BYTES, config.contextLength(),
                    config.vocabSize(), GgmlType.F32.name(), bytes, created);
            return new LoadedModel(new Llama(config, weights), tokenizer, new PlainChatTemplate(), info, checkpoint);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    private static SentencePieceTokenizer llama2cTokenizer(Path file, int vocabSize) {
        return SentencePieceTokenizer.fromLlama2c(Llama2cTokenizerFile.read(file, vocabSize));
    }

    private static void checkVocab(Path path, Tokenizer tokenizer, LlamaConfig config) {
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw new InferenceException(path + ": the tokenizer has " + tokenizer.vocabSize()
                    + " tokens, the model's embedding has " + config.vocabSize());
        }
    }

    private static FloatTensor layerSlice(MemorySegment all, int layer, long floats) {
        return FloatTensor.of(GgmlType.F32, all.asSlice(layer * floats * Float.BYTES, floats * Float.BYTES));
    }

    private static FloatTensor matrix(GgufFile gguf, String name, int rows, int cols) {
        GgufTensor tensor = gguf.tensor(name);
        long[] dims = tensor.dims();
        if (dims.length != 2 || dims[0] != cols || dims[1] != rows) {
            throw new InferenceException(gguf.path() + ": tensor " + name + " has dims " + Arrays.toString(dims)
                    + ", expected [" + cols + ", " + rows + "] (" + rows + " rows of " + cols + ")");
        }
        return FloatTensor.of(tensor.type(), tensor.data());
    }

    private static float[] vector(GgufFile gguf, String name, int size) {
        GgufTensor tensor = gguf.tensor(name);
        long[] dims = tensor.dims();
        if (dims.length != 1 || dims[0] != size) {
            throw new InferenceException(gguf.path() + ": tensor " + name + " has dims " + Arrays.toString(dims)
                    + ", expected [" + size + "]");
        }
        return FloatTensor.of(tensor.type(), tensor.data()).toArray();
    }

    private static FloatTensor[] matrices(int layers, IntFunction<FloatTensor> perLayer) {
        var result = new FloatTensor[layers];
        for (int l = 0; l < layers; l++) {
            result[l] = perLayer.apply(l);
        }
        return result;
    }

    private static float[][] vectors(int layers, IntFunction<float[]> perLayer) {
        var result = new float[layers][];
        for (int l = 0; l < layers; l++) {
            result[l] = perLayer.apply(l);
        }
        return result;
    }
}
