package io.gpud.inference;

import static io.gpud.inference.ArchitectureLoader.matrices;
import static io.gpud.inference.ArchitectureLoader.vectors;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufFileType;
import io.gpud.model.GgufTensor;
import io.gpud.model.Llama2cCheckpoint;
import io.gpud.model.Llama2cTokenizerFile;
import io.gpud.model.ModelFormatException;
import io.gpud.model.SafetensorsFile;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * Loads a model of one of the {@link Architecture}s from a GGUF file, a llama2.c checkpoint (told apart by the magic
 * {@code "GGUF"} at the start of the file) or a Hugging Face safetensors model (a
 * directory, a {@code .safetensors} file or a {@code model.safetensors.index.json}, with
 * {@code config.json} beside it), and checks every tensor's shape against the
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
        Path safetensors = safetensorsEntry(modelFile);
        if (safetensors != null) {
            return loadSafetensors(safetensors, name, createdEpochSeconds);
        }
        return isGguf(modelFile)
                ? loadGguf(modelFile, tokenizerFile, name, createdEpochSeconds)
                : loadLlama2c(modelFile, tokenizerFile, name, createdEpochSeconds);
    }

    /**
     * The weights of a Hugging Face model given as its directory, its
     * {@code model.safetensors.index.json} or a {@code .safetensors} file; null for other files.
     */
    private static Path safetensorsEntry(Path path) {
        if (Files.isDirectory(path)) {
            Path index = path.resolve("model.safetensors.index.json");
            Path single = path.resolve("model.safetensors");
            if (Files.exists(index)) {
                return index;
            }
            if (Files.exists(single)) {
                return single;
            }
            throw new ModelFormatException(path + " is a directory without model.safetensors or "
                    + "model.safetensors.index.json");
        }
        String file = path.getFileName().toString();
        return file.endsWith(".safetensors") || file.endsWith(".safetensors.index.json") ? path : null;
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
            LlamaConfig config = ArchitectureLoader.ggufConfig(gguf);
            ArchitectureLoader.Tensors tensors = ArchitectureLoader.ggufTensors(gguf);
            LlamaWeights weights = ArchitectureLoader.weights(config, tensors);

            Tokenizer tokenizer;
            if (tokenizerFile != null) {
                tokenizer = llama2cTokenizer(tokenizerFile, config.vocabSize());
            } else if (gguf.has("tokenizer.ggml.tokens")) {
                String model = gguf.getString("tokenizer.ggml.model", "llama");
                tokenizer = switch (model) {
                    case "llama" -> SentencePieceTokenizer.fromGguf(gguf);
                    case "gpt2" -> ByteLevelBpeTokenizer.fromGguf(gguf);
                    default -> throw new InferenceException(path + ": tokenizer model " + model
                            + " is not supported, only llama (sentencepiece) and gpt2 (byte-level BPE)");
                };
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
            var info = new ModelInfo(name, "gguf", config.architecture().ggufName(), parameters,
                    config.contextLength(), config.vocabSize(), fileType(gguf, tensors), bytes, created, config.dim());
            ChatTemplate template = tokenizer instanceof IdOnlyTokenizer ? new PlainChatTemplate()
                    : JinjaChatTemplate.orPlain(gguf.getString("tokenizer.chat_template", null),
                            tokenText(tokenizer, tokenizer.bos()), tokenText(tokenizer, tokenizer.eos()), name);
            return new LoadedModel(new Llama(config, weights), tokenizer, template, info, gguf);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    private static LoadedModel loadLlama2c(Path path, Path tokenizerFile, String name, long created) {
        Llama2cCheckpoint checkpoint = Llama2cCheckpoint.open(path);
        try {
            Llama2cCheckpoint.Header h = checkpoint.header();
            var config = LlamaConfig.llama(h.dim(), h.hiddenDim(), h.layers(), h.heads(), h.kvHeads(), h.vocabSize(),
                    h.seqLen(), 10000f, 1e-5f, h.sharedClassifier(), LlamaConfig.RopeLayout.ADJACENT_PAIRS);
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
                    config.vocabSize(), GgmlType.F32.name(), bytes, created, config.dim());
            return new LoadedModel(new Llama(config, weights), tokenizer, new PlainChatTemplate(), info, checkpoint);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    /**
     * A Hugging Face model of one of the {@link Architecture}s: config.json beside the weights
     * gives the shape (see {@link ArchitectureLoader}), and tokenizer.json (when present) gives
     * the tokenizer.
     */
    private static LoadedModel loadSafetensors(Path weightsPath, String name, long created) {
        Path dir = weightsPath.toAbsolutePath().getParent();
        JsonNode hf = SafetensorsFile.readJsonFile(dir.resolve("config.json"));
        Architecture architecture = ArchitectureLoader.hfArchitecture(dir, hf);
        SafetensorsFile weightsFile = SafetensorsFile.open(weightsPath);
        try {
            LlamaConfig config = ArchitectureLoader.hfConfig(dir, hf, weightsFile.tensors().containsKey("lm_head.weight"));
            ArchitectureLoader.Tensors tensors = ArchitectureLoader.hfTensors(weightsFile, architecture);
            LlamaWeights weights = ArchitectureLoader.weights(config, tensors);
            int vocab = config.vocabSize();
            Path tokenizerJson = dir.resolve("tokenizer.json");
            Tokenizer tokenizer = Files.exists(tokenizerJson)
                    ? HuggingFaceTokenizers.load(tokenizerJson, vocab)
                    : new IdOnlyTokenizer(name, vocab, -1, -1, Set.of());
            checkVocab(dir, tokenizer, config);
            long parameters = 0;
            long bytes = 0;
            for (SafetensorsFile.Tensor tensor : weightsFile.tensors().values()) {
                bytes += tensor.data().byteSize();
                parameters += tensor.data().byteSize() / (tensor.type() == GgmlType.F32 ? 4 : 2);
            }
            var info = new ModelInfo(name, "safetensors", architecture.ggufName(), parameters, config.contextLength(),
                    vocab, ArchitectureLoader.queryType(tensors).name(), bytes, created, config.dim());
            ChatTemplate template = new PlainChatTemplate();
            Path tokenizerConfig = dir.resolve("tokenizer_config.json");
            if (!(tokenizer instanceof IdOnlyTokenizer) && Files.exists(tokenizerConfig)) {
                JsonNode tc = SafetensorsFile.readJsonFile(tokenizerConfig);
                JsonNode source = tc.path("chat_template");
                if (source.isArray()) {
                    for (JsonNode named : source) {
                        if (named.path("name").asText("").equals("default")) {
                            source = named.path("template");
                        }
                    }
                }
                template = JinjaChatTemplate.orPlain(source.isTextual() ? source.asText() : null,
                        HuggingFaceTokenizers.tokenText(tc.path("bos_token")),
                        HuggingFaceTokenizers.tokenText(tc.path("eos_token")), name);
            }
            return new LoadedModel(new Llama(config, weights), tokenizer, template, info, weightsFile);
        } catch (RuntimeException e) {
            weightsFile.close();
            throw e;
        }
    }

    /**
     * The quantization of a GGUF file: its {@code general.file_type} preset (Q4_K_M mixes
     * tensor types), or the attention weights' type when the file does not say.
     */
    private static String fileType(GgufFile gguf, ArchitectureLoader.Tensors tensors) {
        return gguf.has("general.file_type") ? GgufFileType.name(gguf.getInt("general.file_type"))
                : ArchitectureLoader.queryType(tensors).name();
    }

    /** The text of a special token (its spelling in the vocabulary), or null. */
    private static String tokenText(Tokenizer tokenizer, int id) {
        if (id < 0) {
            return null;
        }
        return switch (tokenizer) {
            case SentencePieceTokenizer sp -> sp.piece(id);
            case ByteLevelBpeTokenizer bpe -> bpe.spelling(id);
            default -> null;
        };
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
}
