package io.gpud.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cFilesTest {
    @TempDir
    Path dir;

    /** dim 8, hidden 16, 1 layer, 2 heads, 1 kv head, vocab 4, seq_len 4. */
    private static ByteBuffer checkpoint(int vocab, int floats) {
        var b = ByteBuffer.allocate(28 + floats * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(8).putInt(16).putInt(1).putInt(2).putInt(1).putInt(vocab).putInt(4);
        for (int i = 0; i < floats; i++) {
            b.putFloat(i);
        }
        return b;
    }

    // token_embd 32 + rms 8 + wq 64 + wk 32 + wv 32 + wo 64 + rms 8 + w1..w3 384 + final 8 + rope 16
    private static final int SHARED_FLOATS = 32 + 8 + 64 + 32 + 32 + 64 + 8 + 384 + 8 + 16;

    @Test
    void readsSharedAndUntiedCheckpoints() throws IOException {
        Path shared = dir.resolve("shared.bin");
        Files.write(shared, checkpoint(4, SHARED_FLOATS).array());
        try (var c = Llama2cCheckpoint.open(shared)) {
            assertTrue(c.header().sharedClassifier());
            assertEquals(4, c.header().headSize());
            assertEquals(32 * 4, c.tokenEmbedding().byteSize());
            assertEquals(c.tokenEmbedding(), c.classifier());
            assertEquals(32f, c.rmsAttention().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0));
        }
        Path untied = dir.resolve("untied.bin");
        Files.write(untied, checkpoint(-4, SHARED_FLOATS + 32).array());
        try (var c = Llama2cCheckpoint.open(untied)) {
            assertEquals(4, c.header().vocabSize());
            assertEquals(SHARED_FLOATS * 4L, c.classifier().address() - c.tokenEmbedding().address());
        }
    }

    @Test
    void shortCheckpointNamesSizes() throws IOException {
        Path file = dir.resolve("short.bin");
        Files.write(file, checkpoint(4, SHARED_FLOATS - 1).array());
        String message = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(file)).getMessage();
        int needed = 28 + SHARED_FLOATS * 4;
        assertTrue(message.contains((needed - 4) + " bytes") && message.contains("needs " + needed + " bytes"), message);
    }

    @Test
    void badHeaderNamesField() throws IOException {
        Path file = dir.resolve("bad.bin");
        var b = checkpoint(4, SHARED_FLOATS);
        b.putInt(12, 0);
        Files.write(file, b.array());
        String message = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(file)).getMessage();
        assertTrue(message.contains("n_heads was 0"), message);
        Files.write(file, new byte[10]);
        message = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(file)).getMessage();
        assertTrue(message.contains("10 bytes"), message);
    }

    @Test
    void tokenizerFileReadsAndRejectsTruncation() throws IOException {
        var b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(3);
        b.putFloat(0f).putInt(1).put((byte) 'a');
        b.putFloat(-1f).putInt(3).put("abc".getBytes());
        Path file = dir.resolve("tok.bin");
        Files.write(file, java.util.Arrays.copyOf(b.array(), b.position()));
        var tokenizer = Llama2cTokenizerFile.read(file, -1);
        assertEquals(2, tokenizer.pieces().size());
        assertArrayEquals("abc".getBytes(), tokenizer.pieces().get(1));
        assertArrayEquals(new float[] {0f, -1f}, tokenizer.scores());
        assertEquals(1, Llama2cTokenizerFile.read(file, 1).pieces().size());

        String message = assertThrows(ModelFormatException.class, () -> Llama2cTokenizerFile.read(file, 3)).getMessage();
        assertTrue(message.contains("token 2") && message.contains("needs 3 tokens"), message);
        Files.write(file, java.util.Arrays.copyOf(b.array(), b.position() - 1));
        message = assertThrows(ModelFormatException.class, () -> Llama2cTokenizerFile.read(file, -1)).getMessage();
        assertTrue(message.contains("token 1 claims 3 bytes"), message);
    }
}
