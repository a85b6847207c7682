package io.gpud.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void everyMetadataTypeAndBothTensorTypesSurviveWriteThenRead() {
        var metadata = new java.util.LinkedHashMap<String, GgufValue>();
        metadata.put("u8", new GgufValue(GgufValueType.UINT8, 255));
        metadata.put("i8", new GgufValue(GgufValueType.INT8, -128));
        metadata.put("u16", new GgufValue(GgufValueType.UINT16, 65535));
        metadata.put("i16", new GgufValue(GgufValueType.INT16, -32768));
        metadata.put("u32", GgufValue.uint32(4_000_000_000L));
        metadata.put("i32", GgufValue.int32(-7));
        metadata.put("f32", GgufValue.float32(1.5f));
        metadata.put("bool", GgufValue.bool(true));
        metadata.put("string", GgufValue.string("héllo ▁ 🦙"));
        metadata.put("u64", new GgufValue(GgufValueType.UINT64, -1L));
        metadata.put("i64", new GgufValue(GgufValueType.INT64, Long.MIN_VALUE));
        metadata.put("f64", new GgufValue(GgufValueType.FLOAT64, Math.PI));
        metadata.put("strings", GgufValue.stringArray(List.of("a", "", "ü")));
        metadata.put("floats", GgufValue.float32Array(new float[] {1f, -2f}));
        metadata.put("nested", new GgufValue(GgufValueType.ARRAY, new GgufValue.Array(GgufValueType.ARRAY, List.of(
                new GgufValue.Array(GgufValueType.INT32, List.of(1, 2)),
                new GgufValue.Array(GgufValueType.BOOL, List.of())))));
        metadata.put("general.alignment", GgufValue.uint32(64));

        float[] matrix = {1f, 2f, 3f, 4f, 5f, 6f};
        float[] half = {0.5f, -1.25f, 65504f};
        var writer = new GgufWriter();
        metadata.forEach(writer::put);
        writer.tensor("m", GgmlType.F32, new long[] {3, 2}, matrix);
        writer.tensor("h", GgmlType.F16, new long[] {3}, half);
        Path file = dir.resolve("t.gguf");
        writer.write(file);

        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(3, gguf.version());
            assertEquals(64, gguf.alignment());
            assertEquals(metadata, gguf.metadata());
            assertEquals(4_000_000_000L, gguf.getLong("u32"));
            assertEquals(List.of("a", "", "ü"), gguf.getStrings("strings"));
            assertArrayEquals(new float[] {1f, -2f}, gguf.getFloats("floats"));

            GgufTensor m = gguf.tensor("m");
            assertArrayEquals(new long[] {3, 2}, m.dims());
            assertEquals(6, m.elements());
            assertEquals(0, m.fileOffset() % 64);
            var f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            assertArrayEquals(matrix, m.data().toArray(f32));

            GgufTensor h = gguf.tensor("h");
            assertEquals(GgmlType.F16, h.type());
            assertEquals(0, h.fileOffset() % 64);
            var f16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < half.length; i++) {
                assertEquals(half[i], Float.float16ToFloat(h.data().getAtIndex(f16, i)));
            }
        }
    }
}
