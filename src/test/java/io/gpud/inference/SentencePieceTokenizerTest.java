package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.Llama2cTokenizerFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SentencePieceTokenizerTest {
    private static final Path LLAMA2_TOKENIZER = Path.of("../shared/models/tokenizer.bin");
    private static final int SPACE = DemoModel.SPACE_TOKEN;

    @TempDir
    static Path dir;
    static SentencePieceTokenizer demo;

    @BeforeAll
    static void loadDemoVocabulary() {
        try (GgufFile gguf = GgufFile.open(DemoModelFixture.write(dir, GgmlType.F32))) {
            demo = SentencePieceTokenizer.fromGguf(gguf);
        }
    }

    private static int b(char c) {
        return DemoModel.BYTE_TOKEN_OFFSET + c;
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a", "Hello, world!", " leading and trailing ", "tabs\tand\nnewlines",
            "grüße, 日本語", "emoji 🦙🚀 and ZWJ 👩‍💻", "\u0000 control"})
    void demoVocabularyRoundTrips(String text) {
        assertEquals(text, demo.decode(demo.encode(text, true)));
        assertEquals(text, demo.decode(demo.encode(text, false)));
    }

    @Test
    void knownAnswersOnDemoVocabulary() {
        assertArrayEquals(new int[] {1}, demo.encode("", true));
        assertArrayEquals(new int[] {1, SPACE, b('h'), b('i')}, demo.encode("hi", true));
        assertArrayEquals(new int[] {SPACE, b('a'), SPACE, b('b')}, demo.encode("a b", false));
        // é is not a piece: its two UTF-8 bytes C3 A9 become byte tokens
        assertArrayEquals(new int[] {SPACE, DemoModel.BYTE_TOKEN_OFFSET + 0xC3, DemoModel.BYTE_TOKEN_OFFSET + 0xA9},
                demo.encode("é", false));
    }

    @Test
    void tokenBytesOfSpecialAndByteTokens() {
        assertEquals(0, demo.tokenBytes(1).length);
        assertEquals(0, demo.tokenBytes(2).length);
        assertArrayEquals(new byte[] {(byte) 0xF0}, demo.tokenBytes(DemoModel.BYTE_TOKEN_OFFSET + 0xF0));
        assertArrayEquals(new byte[] {' '}, demo.tokenBytes(SPACE));
        assertArrayEquals(new byte[0], demo.tokenBytes(1, SPACE));
        assertArrayEquals(new byte[] {' '}, demo.tokenBytes(b('x'), SPACE));
        assertTrue(demo.isEndOfGeneration(2));
        assertEquals(1, demo.bos());
        assertEquals(2, demo.eos());
    }

    @Test
    void invalidUtf8DecodesToReplacementCharacter() {
        int lone = DemoModel.BYTE_TOKEN_OFFSET + 0xE2;
        assertEquals("a\uFFFD", demo.decode(new int[] {b('a'), lone}));
    }

    @Test
    void knownAnswersOnLlama2Vocabulary() {
        Assumptions.assumeTrue(Files.exists(LLAMA2_TOKENIZER),
                "skipped: " + LLAMA2_TOKENIZER.toAbsolutePath().normalize() + " (llama2.c tokenizer.bin) is absent");
        var llama2 = SentencePieceTokenizer.fromLlama2c(Llama2cTokenizerFile.read(LLAMA2_TOKENIZER, 32000));
        assertArrayEquals(new int[] {1, 15043, 3186}, llama2.encode("Hello world", true));
        assertArrayEquals(new int[] {1, 306, 4658, 278, 6593, 310, 2834, 338},
                llama2.encode("I believe the meaning of life is", true));
        assertEquals("Hello world", llama2.decode(new int[] {1, 15043, 3186}));
        assertTrue(llama2.isEndOfGeneration(1) && llama2.isEndOfGeneration(2));
    }
}
