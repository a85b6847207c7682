package io.gpud.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Corrupt GGUF files fail with a message naming the problem, in bounded memory. */
class GgufMalformedTest {
    @TempDir
    Path dir;

    private String failure(byte[] bytes) throws IOException {
        Path file = dir.resolve("bad.gguf");
        Files.write(file, bytes);
        return assertThrows(ModelFormatException.class, () -> GgufFile.open(file).close()).getMessage();
    }

    private static ByteBuffer header(long tensors, long metadata) {
        var b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(tensors).putLong(metadata);
        return b;
    }

    private static byte[] bytes(ByteBuffer b) {
        return Arrays.copyOf(b.array(), b.position());
    }

    private static void putString(ByteBuffer b, String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        b.putLong(utf8.length).put(utf8);
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "'" + message + "' should contain '" + part + "'");
        }
    }

    @Test
    void wrongMagic() throws IOException {
        var b = header(0, 0);
        b.putInt(0, 0x12345678);
        assertContains(failure(bytes(b)), "not a GGUF file", "0x12345678");
    }

    @Test
    void wrongVersion() throws IOException {
        var b = header(0, 0);
        b.putInt(4, 2);
        assertContains(failure(bytes(b)), "version 2");
    }

    @Test
    void hugeTensorCount() throws IOException {
        assertContains(failure(bytes(header(1L << 40, 0))), "1099511627776 tensors");
    }

    @Test
    void hugeMetadataCount() throws IOException {
        assertContains(failure(bytes(header(0, -1))), "18446744073709551615 metadata entries");
    }

    @Test
    void hugeString() throws IOException {
        var b = header(0, 1);
        b.putLong(1L << 60);
        b.put(new byte[16]);
        assertContains(failure(bytes(b)), "1152921504606846976 bytes");
    }

    @Test
    void hugeArray() throws IOException {
        var b = header(0, 1);
        putString(b, "k");
        b.putInt(GgufValueType.ARRAY.id()).putInt(GgufValueType.UINT64.id()).putLong(1L << 60);
        b.put(new byte[16]);
        assertContains(failure(bytes(b)), "1152921504606846976 elements in metadata key 'k'");
    }

    @Test
    void unknownValueType() throws IOException {
        var b = header(0, 1);
        putString(b, "k");
        b.putInt(99);
        b.put(new byte[16]);
        assertContains(failure(bytes(b)), "'k'", "unknown value type 99");
    }

    @Test
    void unsupportedTensorTypeNamesTypeAndTensor() throws IOException {
        var b = header(1, 0);
        putString(b, "blk.0.attn_q.weight");
        b.putInt(2).putLong(32).putLong(32).putInt(GgmlType.IQ2_XXS.id()).putLong(0);
        b.put(new byte[64]);
        assertContains(failure(bytes(b)), "unsupported tensor type IQ2_XXS for tensor blk.0.attn_q.weight");
    }

    @Test
    void tensorPastTheEnd() throws IOException {
        var b = header(1, 0);
        putString(b, "w");
        b.putInt(1).putLong(1000).putInt(GgmlType.F32.id()).putLong(0);
        b.put(new byte[100]);
        assertContains(failure(bytes(b)), "tensor w", "4000 bytes", "past the end of the file");
    }

    @Test
    void misalignedTensorOffset() throws IOException {
        var b = header(1, 0);
        putString(b, "w");
        b.putInt(1).putLong(1).putInt(GgmlType.F32.id()).putLong(4);
        b.put(new byte[100]);
        assertContains(failure(bytes(b)), "tensor w", "offset 4", "alignment 32");
    }

    @Test
    void tooManyDimensions() throws IOException {
        var b = header(1, 0);
        putString(b, "w");
        b.putInt(5);
        b.put(new byte[100]);
        assertContains(failure(bytes(b)), "tensor w has 5 dimensions");
    }

    @Test
    void everyTruncationOfAValidFileFails() throws IOException {
        Path good = dir.resolve("good.gguf");
        new GgufWriter()
                .put("general.name", GgufValue.string("x"))
                .put("tokens", GgufValue.stringArray(java.util.List.of("a", "b")))
                .tensor("w", GgmlType.F32, new long[] {4, 2}, new float[8])
                .write(good);
        byte[] all = Files.readAllBytes(good);
        for (int length = 0; length < all.length; length++) {
            failure(Arrays.copyOf(all, length));
        }
    }
}
