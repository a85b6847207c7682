package io.gpud.inference;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.gpud.model.ModelFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Any bytes given as a model file (GGUF or llama2.c, with the tokenizer in the GGUF
 * metadata) either load or fail with {@link ModelFormatException} or
 * {@link InferenceException}: never another exception, an out-of-memory or a crash. Every
 * run replays the committed inputs under {@code ModelFileFuzzTestInputs/}; with
 * {@code JAZZER_FUZZ=1} it fuzzes from them.
 */
class ModelFileFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void loadNeverCrashes(byte[] bytes) {
        Path file;
        try {
            file = Files.createTempFile("gpud-fuzz", ".model");
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (LoadedModel model = LlamaLoader.load(file, null, "fuzz", 0)) {
            int[] ids = model.tokenizer().encode("fuzz", true);
            model.tokenizer().decode(ids);
        } catch (ModelFormatException | InferenceException expected) {
            // a clear refusal is the right answer to a broken file
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
