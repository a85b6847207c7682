package io.gpud.inference.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.inference.LlamaModel;
import io.gpud.inference.SimModels;
import io.gpud.model.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host-side layouts of the weights as the kernels read them: Q8_0 split into quants and
 * scales, and F16/BF16 decoded from 128-bit groups the way {@code llama.cu} decodes them.
 */
class Q8PackingTest {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void packedSizesAreQuantsThenScales() {
        assertEquals(32 + 2, Q8Packing.packedBytes(32));
        assertEquals(4096L * 4096 + 4096L * 4096 / 32 * 2, Q8Packing.packedBytes(4096L * 4096));
        assertEquals(4096, Q8Packing.scalesOffset(4096));
        var e = assertThrows(IllegalArgumentException.class, () -> Q8Packing.packedBytes(48));
        assertTrue(e.getMessage().contains("48"), e.getMessage());
    }

    @Test
    void splitMovesEveryScaleAndQuantToItsPlace() {
        var random = new SplittableRandom(3);
        int blocks = 37;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment gguf = arena.allocate(5 + blocks * 34L);
            for (long i = 0; i < gguf.byteSize(); i++) {
                gguf.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt(256));
            }
            MemorySegment quants = arena.allocate(blocks * 32L);
            MemorySegment scales = arena.allocate(blocks * 2L);
            Q8Packing.split(gguf, 5, blocks, quants, scales);
            for (int b = 0; b < blocks; b++) {
                long at = 5 + b * 34L;
                assertEquals(gguf.get(LE_SHORT, at), scales.get(LE_SHORT, b * 2L), "scale of block " + b);
                for (int i = 0; i < 32; i++) {
                    assertEquals(gguf.get(ValueLayout.JAVA_BYTE, at + 2 + i),
                            quants.get(ValueLayout.JAVA_BYTE, b * 32L + i), "quant " + i + " of block " + b);
                }
            }
            assertThrows(IllegalArgumentException.class,
                    () -> Q8Packing.split(gguf, 5, blocks, quants.asSlice(0, 32), scales));
        }
    }

    /** Packed values (scale × quant, as the kernel computes them) are the written floats to within half a step. */
    @Test
    void packedQ8MatrixDequantizesToTheWrittenWeights(@TempDir Path dir) {
        int rows = 64;
        int cols = 64;
        float[] values = new float[rows * cols];
        var random = new SplittableRandom(5);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        Path file = SimModels.writeSingleMatrixModel(dir, GgmlType.Q8_0, values, rows, cols);
        try (LlamaModel model = LlamaModel.load(file, null, "q8");
             Arena arena = Arena.ofConfined()) {
            LlamaModel.Tensor t = model.layer(0).wq();
            assertEquals(GgmlType.Q8_0, t.type());
            long elements = (long) t.rows() * t.cols();
            MemorySegment packed = arena.allocate(Q8Packing.packedBytes(elements));
            Q8Packing.split(t.bytes(), 0, elements / 32, packed.asSlice(0, elements),
                    packed.asSlice(Q8Packing.scalesOffset(elements)));
            for (int i = 0; i < elements; i++) {
                float scale = Float.float16ToFloat(packed.get(LE_SHORT, Q8Packing.scalesOffset(elements) + i / 32 * 2L));
                float value = scale * packed.get(ValueLayout.JAVA_BYTE, i);
                assertEquals(values[i], value, scale / 2 + 1e-6f, "element " + i);
            }
        }
    }

    /** llama.cu reads 8 halves per uint4 as 4 words, element 2i in the low half of word i (little-endian). */
    @Test
    void halfPrecisionGroupsDecodeAsTheKernelReadsThem() {
        var random = new SplittableRandom(9);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment group = arena.allocate(16);
            float[] f16 = new float[8];
            float[] bf16 = new float[8];
            for (int i = 0; i < 8; i++) {
                float x = (float) random.nextGaussian();
                f16[i] = Float.float16ToFloat(Float.floatToFloat16(x));
                group.set(LE_SHORT, 2L * i, Float.floatToFloat16(x));
            }
            for (int w = 0; w < 4; w++) {
                int word = group.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * w);
                assertEquals(f16[2 * w], Float.float16ToFloat((short) (word & 0xFFFF)));
                assertEquals(f16[2 * w + 1], Float.float16ToFloat((short) (word >>> 16)));
            }
            for (int i = 0; i < 8; i++) {
                float x = (float) random.nextGaussian();
                int bits = Float.floatToRawIntBits(x) & 0xFFFF0000;
                bf16[i] = Float.intBitsToFloat(bits);
                group.set(LE_SHORT, 2L * i, (short) (bits >>> 16));
            }
            for (int w = 0; w < 4; w++) {
                int word = group.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * w);
                assertEquals(bf16[2 * w], Float.intBitsToFloat(word << 16), "low element of word " + w);
                assertEquals(bf16[2 * w + 1], Float.intBitsToFloat(word & 0xFFFF0000), "high element of word " + w);
            }
        }
    }
}
