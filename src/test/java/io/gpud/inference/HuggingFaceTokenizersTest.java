package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Byte-level BPE and sentencepiece-style BPE tokenizers built from {@code tokenizer.json}:
 * known answers on small vocabularies, round trips of arbitrary text, special tokens.
 */
class HuggingFaceTokenizersTest {
    /** h, e, l, o, Ġ (space), merged by rank into "hello" and "Ġhello". */
    private static final List<String> WORDS = List.of("h", "e", "l", "o", "Ġ", "he", "ll", "hell", "hello", "Ġhello",
            "!", "<|eot_id|>", "<|begin_of_text|>");
    private static final List<String> MERGES = List.of("h e", "l l", "he ll", "hell o", "Ġ hello");

    @TempDir
    Path dir;

    @Test
    void byteLevelMergesByRankAndKeepsSpecialTokensWhole() {
        var tokenizer = new ByteLevelBpeTokenizer(WORDS, MERGES, ByteLevelBpeTokenizer.GPT2_PATTERN, Set.of(11, 12),
                12, 11, Set.of(11), true);
        assertArrayEquals(new int[] {12, 8, 9, 11, 10}, tokenizer.encode("hello hello<|eot_id|>!", true));
        assertArrayEquals(new int[] {0, 8}, tokenizer.encode("hhello", false),
                "'h h' has no merge, so the first h stays alone and the rest merges up to 'hello'");
        assertArrayEquals(new int[] {5, 7}, tokenizer.encode("hehell", false), "'he hell' has no merge");
        assertEquals("hello hello!", tokenizer.decode(new int[] {12, 8, 9, 11, 10}));
        assertTrue(tokenizer.isEndOfGeneration(11));
    }

    @Test
    void byteLevelRoundTripsAnyTextThroughTheByteAlphabet() {
        var tokenizer = new ByteLevelBpeTokenizer(byteAlphabet(), List.of(), ByteLevelBpeTokenizer.LLAMA3_PATTERN,
                Set.of(), -1, -1, Set.of(), false);
        for (String text : List.of("héllo wörld 🙂\n\tTabs  and  spaces", "数字 12345 and 'quotes' it's", "")) {
            int[] ids = tokenizer.encode(text, true);
            assertEquals(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, ids.length, text);
            assertEquals(text, tokenizer.decode(ids));
        }
    }

    @Test
    void tokenizerJsonWithByteLevelPreTokenizerAndConfig() throws IOException {
        var vocab = new StringBuilder();
        for (int id = 0; id < WORDS.size() - 2; id++) {
            vocab.append(id == 0 ? "" : ",").append(quote(WORDS.get(id))).append(':').append(id);
        }
        var merges = new StringBuilder();
        for (int i = 0; i < MERGES.size(); i++) {
            String[] pair = MERGES.get(i).split(" ");
            merges.append(i == 0 ? "" : ",").append('[').append(quote(pair[0])).append(',').append(quote(pair[1]))
                    .append(']');
        }
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"model": {"type": "BPE", "vocab": {%s}, "merges": [%s]},
                 "added_tokens": [{"id": 11, "content": "<|eot_id|>", "special": true},
                                  {"id": 12, "content": "<|begin_of_text|>", "special": true}],
                 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": "%s"}, "behavior": "Isolated"},
                    {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}}
                """.formatted(vocab, merges, ByteLevelBpeTokenizer.LLAMA3_PATTERN.replace("\\", "\\\\")));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>"}}""");
        Tokenizer tokenizer = HuggingFaceTokenizers.load(dir.resolve("tokenizer.json"), 16);
        assertInstanceOf(ByteLevelBpeTokenizer.class, tokenizer);
        assertEquals(16, tokenizer.vocabSize());
        assertEquals(12, tokenizer.bos());
        assertEquals(11, tokenizer.eos());
        assertArrayEquals(new int[] {12, 8, 9, 11}, tokenizer.encode("hello hello<|eot_id|>", true));
    }

    @Test
    void tokenizerJsonWithByteFallbackIsSentencePieceWithMergeRanksAsScores() throws IOException {
        var vocab = new StringBuilder("\"<unk>\":0,\"<s>\":1,\"</s>\":2");
        for (int b = 0; b < 256; b++) {
            vocab.append(",\"<0x%02X>\":%d".formatted(b, 3 + b));
        }
        vocab.append(",\"▁\":259,\"h\":260,\"i\":261,\"hi\":262,\"▁hi\":263");
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"model": {"type": "BPE", "byte_fallback": true, "vocab": {%s}, "merges": ["h i", "▁ hi"]},
                 "added_tokens": [{"id": 1, "content": "<s>", "special": true},
                                  {"id": 2, "content": "</s>", "special": true}]}
                """.formatted(vocab));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true}""");
        Tokenizer tokenizer = HuggingFaceTokenizers.load(dir.resolve("tokenizer.json"), 264);
        assertInstanceOf(SentencePieceTokenizer.class, tokenizer);
        int[] ids = tokenizer.encode("hi hi é", true);
        assertArrayEquals(new int[] {1, 263, 263, 259, 3 + 0xC3, 3 + 0xA9}, ids);
        assertEquals("hi hi é", tokenizer.decode(ids));
    }

    @Test
    void unsupportedOrBrokenTokenizerJsonIsAClearError() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"model": {"type": "Unigram", "vocab": []}}""");
        var e = assertThrows(InferenceException.class, () -> HuggingFaceTokenizers.load(dir.resolve("tokenizer.json"), 4));
        assertTrue(e.getMessage().contains("Unigram"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"model": {"type": "BPE", "vocab": {"a": 99}, "merges": []}}""");
        e = assertThrows(InferenceException.class, () -> HuggingFaceTokenizers.load(dir.resolve("tokenizer.json"), 4));
        assertTrue(e.getMessage().contains("99"), e.getMessage());
    }

    private static List<String> byteAlphabet() {
        var tokens = new ArrayList<String>();
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            tokens.add(printable ? String.valueOf((char) b) : null);
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            if (tokens.get(b) == null) {
                tokens.set(b, String.valueOf((char) next++));
            }
        }
        return tokens;
    }

    private static String quote(String s) {
        return '"' + s + '"';
    }
}
