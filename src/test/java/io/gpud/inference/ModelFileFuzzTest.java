package io.gpud.inference;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.gpud.model.GgmlType;
import io.gpud.model.ModelFormatException;
import io.gpud.model.SafetensorsFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Any bytes given as a model file (GGUF, llama2.c or safetensors, with the tokenizer in the
 * GGUF metadata) either load or fail with {@link ModelFormatException} or
 * {@link InferenceException}: never another exception, an out-of-memory or a crash.
 *
 * <p>Every run replays the committed inputs under {@code ModelFileFuzzTestInputs/}; with
 * {@code JAZZER_FUZZ=1} it fuzzes from them. {@link #corruptedModelsFail} starts from valid
 * small models of every tensor type and format and truncates them and overwrites bytes as
 * the fuzzer's data says, so even without coverage feedback it reaches deep into the
 * readers and the loader.
 */
class ModelFileFuzzTest {
    private static final String SEEDS = "ModelFileFuzzTestInputs/loadNeverCrashes/";
    private static final List<String> VALID = List.of("tiny-F32.gguf", "tiny-BF16.gguf", "tiny-Q8_0.gguf",
            "tiny-Q4_0.gguf");
    private static volatile List<byte[]> validModels;

    @FuzzTest(maxDuration = "5m")
    void loadNeverCrashes(byte[] bytes) {
        withFile(bytes, ".model", file -> load(file));
    }

    @FuzzTest(maxDuration = "5m")
    void safetensorsNeverCrash(byte[] bytes) {
        withFile(bytes, ".safetensors", file -> {
            try (SafetensorsFile tensors = SafetensorsFile.open(file)) {
                tensors.tensors().values().forEach(t -> t.data().byteSize());
            } catch (ModelFormatException expected) {
                // a clear refusal is the right answer to a broken file
            }
        });
    }

    @FuzzTest(maxDuration = "5m")
    void corruptedModelsFail(FuzzedDataProvider data) {
        List<byte[]> models = validModels();
        int which = data.consumeInt(0, models.size() - 1);
        byte[] bytes = models.get(which).clone();
        int corruptions = data.consumeInt(0, 16);
        for (int i = 0; i < corruptions && bytes.length > 0; i++) {
            bytes[data.consumeInt(0, bytes.length - 1)] = data.consumeByte();
        }
        int length = data.consumeBoolean() ? data.consumeInt(0, bytes.length) : bytes.length;
        byte[] model = Arrays.copyOf(bytes, length);
        if (which < VALID.size()) {
            withFile(model, ".gguf", ModelFileFuzzTest::load);
        } else {
            withHuggingFaceDir(model, ModelFileFuzzTest::load);
        }
    }

    private static void load(Path file) {
        try (LoadedModel model = LlamaLoader.load(file, null, "fuzz", 0)) {
            int[] ids = model.tokenizer().encode("fuzz", true);
            model.tokenizer().decode(ids);
            model.chatTemplate().render(List.of(new ChatTemplate.Message("user", "fuzz")), true);
        } catch (ModelFormatException | InferenceException expected) {
            // a clear refusal is the right answer to a broken file
        }
    }

    /** The GGUF seeds, and the F32 one as a Hugging Face model (safetensors). */
    private static List<byte[]> validModels() {
        if (validModels == null) {
            var models = new ArrayList<byte[]>();
            for (String name : VALID) {
                try (InputStream in = ModelFileFuzzTest.class.getResourceAsStream(SEEDS + name)) {
                    models.add(in.readAllBytes());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            withFile(models.getFirst(), ".gguf", gguf -> {
                Path dir = gguf.resolveSibling(gguf.getFileName() + "-hf");
                SafetensorsFixture.convert(gguf, dir, GgmlType.BF16, false);
                try {
                    models.add(Files.readAllBytes(dir.resolve("model.safetensors")));
                    deleteTree(dir);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            validModels = models;
        }
        return validModels;
    }

    private static void withHuggingFaceDir(byte[] safetensors, Consumer<Path> body) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("gpud-fuzz");
            Files.writeString(dir.resolve("config.json"), """
                    {"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "vocab_size": 6, "max_position_embeddings": 16, "tie_word_embeddings": true}""");
            Files.write(dir.resolve("model.safetensors"), safetensors);
            body.accept(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (dir != null) {
                deleteTree(dir);
            }
        }
    }

    private static void withFile(byte[] bytes, String suffix, Consumer<Path> body) {
        Path file = null;
        try {
            file = Files.createTempFile("gpud-fuzz", suffix);
            Files.write(file, bytes);
            body.accept(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
