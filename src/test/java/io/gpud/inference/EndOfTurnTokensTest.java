package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.gpud.model.GgufFile;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generation stops on each family's end-of-turn tokens, wherever the model's files name
 * them: GGUF {@code eos/eot/eom_token_id}, the chat formats' token names in the vocabulary,
 * tokenizer_config.json's EOS, and generation_config.json's {@code eos_token_id} list.
 */
class EndOfTurnTokensTest {
    @TempDir
    Path dir;

    @Test
    void llama3GgufEndsOnEotAndEomAsWellAsEos() {
        List<String> vocab = List.of("a", "b", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>",
                "<|python_tag|>");
        Tokenizer t = gguf("gpt2", vocab, 2, 3, ByteLevelBpeTokenizer::fromGguf);
        assertEquals(Set.of(3, 4, 5), ends(t));
    }

    @Test
    void ggufEotAndEomKeysCountWhateverTheTokensAreCalled() {
        List<String> vocab = List.of("a", "b", "<s>", "</s>", "[TURN]", "[MSG]");
        Tokenizer t = gguf("gpt2", vocab, 2, 3, ByteLevelBpeTokenizer::fromGguf,
                "tokenizer.ggml.eot_token_id", 4, "tokenizer.ggml.eom_token_id", 5);
        assertEquals(Set.of(3, 4, 5), ends(t));
    }

    @Test
    void qwenGgufEndsOnImEndAndEndOfText() {
        List<String> vocab = List.of("a", "b", "<|endoftext|>", "<|im_start|>", "<|im_end|>");
        Tokenizer t = gguf("gpt2", vocab, -1, 4, ByteLevelBpeTokenizer::fromGguf);
        assertEquals(Set.of(2, 4), ends(t));
    }

    @Test
    void gemmaSentencePieceGgufEndsOnEndOfTurnThoughEosIsEos() {
        List<String> vocab = List.of("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "\u2581a");
        Tokenizer t = gguf("llama", vocab, 2, 1, SentencePieceTokenizer::fromGguf);
        assertEquals(Set.of(1, 5), ends(t));
    }

    @Test
    void phi3SentencePieceGgufEndsOnEnd() {
        List<String> vocab = List.of("<unk>", "<s>", "</s>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>",
                "\u2581a");
        Tokenizer t = gguf("llama", vocab, 1, 3, SentencePieceTokenizer::fromGguf);
        assertEquals(Set.of(3, 6), ends(t));
    }

    @Test
    void mistralAndLlama2EndOnEosAlone() {
        List<String> vocab = List.of("<unk>", "<s>", "</s>", "[INST]", "[/INST]", "\u2581a");
        Tokenizer t = gguf("llama", vocab, 1, 2, SentencePieceTokenizer::fromGguf);
        assertEquals(Set.of(2), ends(t));
    }

    @Test
    void huggingFaceDirectoryAddsGenerationConfigEosIds() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []},
                 "added_tokens": [{"id": 2, "content": "<|begin_of_text|>", "special": true},
                                  {"id": 3, "content": "<|end_of_text|>", "special": true},
                                  {"id": 4, "content": "<|reserved_special_token_9|>", "special": true},
                                  {"id": 5, "content": "<|eot_id|>", "special": true}],
                 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}}""");
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}""");
        Files.writeString(dir.resolve("generation_config.json"), """
                {"bos_token_id": 2, "eos_token_id": [3, 4, 5]}""");
        assertEquals(Set.of(3, 4, 5), ends(HuggingFaceTokenizers.load(dir.resolve("tokenizer.json"), 6)));

        Files.writeString(dir.resolve("generation_config.json"), """
                {"eos_token_id": 4}""");
        assertEquals(Set.of(3, 4, 5), ends(HuggingFaceTokenizers.load(dir.resolve("tokenizer.json"), 6)));

        Files.writeString(dir.resolve("generation_config.json"), """
                {"eos_token_id": [3, 99]}""");
        var e = assertThrows(InferenceException.class, () -> HuggingFaceTokenizers.load(dir.resolve("tokenizer.json"), 6));
        assertEquals(true, e.getMessage().contains("eos_token_id 99"), e.getMessage());
    }

    private Tokenizer gguf(String model, List<String> vocab, int bos, int eos, Function<GgufFile, Tokenizer> load,
                           Object... extra) {
        Path file = dir.resolve(model + "-" + vocab.size() + ".gguf");
        var writer = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("tokenizer.ggml.model", GgufValue.string(model))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(vocab))
                .put("tokenizer.ggml.scores", GgufValue.float32Array(new float[vocab.size()]))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(IntStream.range(0, vocab.size())
                        .map(i -> vocab.get(i).startsWith("<") || vocab.get(i).startsWith("[") ? 3 : 1).toArray()))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(eos));
        if (bos >= 0) {
            writer.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(bos));
        }
        for (int i = 0; i < extra.length; i += 2) {
            writer.put((String) extra[i], GgufValue.uint32((Integer) extra[i + 1]));
        }
        writer.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            return load.apply(gguf);
        }
    }

    private static Set<Integer> ends(Tokenizer tokenizer) {
        var ends = new TreeSet<Integer>();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (tokenizer.isEndOfGeneration(id)) {
                ends.add(id);
            }
        }
        return ends;
    }
}
