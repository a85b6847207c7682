package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufWriter;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernels against plain arithmetic: stored values decode to the written ones within the
 * type's rounding or quantization bound, and the vectorized dot product of every type
 * agrees with a float64 sum over the decoded elements.
 */
class FloatTensorTest {
    private static final int ROWS = 5;
    private static final int COLS = 160;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void decodesWithinTheTypesBoundAndDotsMatchFloat64(GgmlType type) {
        var random = new SplittableRandom(3);
        float[] values = new float[ROWS * COLS];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 3)));
        }
        Path file = dir.resolve(type + ".gguf");
        new GgufWriter().tensor("m", type, new long[] {COLS, ROWS}, values).write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            FloatTensor tensor = FloatTensor.of(type, gguf.tensor("m").data());
            for (int block = 0; block < values.length; block += 32) {
                double absMax = 0;
                for (int i = block; i < block + 32; i++) {
                    absMax = Math.max(absMax, Math.abs(values[i]));
                }
                for (int i = block; i < block + 32; i++) {
                    double bound = switch (type) {
                        case F32 -> 0;
                        case F16 -> Math.abs(values[i]) * 0x1.0p-11 + 0x1.0p-25;
                        case BF16 -> Math.abs(values[i]) * 0x1.0p-8;
                        case Q8_0 -> absMax / 127 / 2 + absMax * 1e-3;
                        case Q4_0 -> absMax / 8 * 1.001;
                        default -> throw new AssertionError(type);
                    };
                    assertEquals(values[i], tensor.get(i), bound, type + " element " + i);
                }
            }
            float[] x = new float[COLS];
            for (int i = 0; i < COLS; i++) {
                x[i] = (float) random.nextGaussian();
            }
            int[] lengths = type.blockSize() == 1 ? new int[] {COLS, COLS - 1, 7, 1} : new int[] {COLS, 64, 32};
            for (int row = 0; row < ROWS; row++) {
                for (int n : lengths) {
                    double expected = 0;
                    double magnitude = 0;
                    for (int i = 0; i < n; i++) {
                        double product = (double) tensor.get((long) row * COLS + i) * x[i];
                        expected += product;
                        magnitude += Math.abs(product);
                    }
                    float actual = tensor.dot((long) row * COLS, x, n);
                    assertEquals(expected, actual, magnitude * 1e-6, type + " row " + row + ", " + n + " elements");
                }
            }
        }
    }

    /**
     * The F32 kernels that share loads between rows and inputs (eight rows × one input, two
     * rows × four or eight inputs, and their mixes in a batch of up to 13, rows in memory order for a large matrix, with whole and partial
     * 8-float slices, any row range) give every output bit for bit as {@link FloatTensor#dot}
     * does.
     */
    @ParameterizedTest
    @ValueSource(ints = {64, 172, 13, 5, 2503})
    void f32MatmulEqualsDotBitForBitInEveryBatchAndRowRange(int cols) {
        assertMatmulEqualsDotBitForBit(GgmlType.F32, cols);
    }

    /**
     * The kernels of the unpacked types (four rows × four inputs, eight rows × one input,
     * single rows left over at the end of a chunk, several chunks of rows) give every output
     * bit for bit as {@link FloatTensor#dot} does, for batches of 1 to 13 and any row range.
     */
    @ParameterizedTest
    @CsvSource({"F16, 64", "F16, 172", "F16, 13", "F16, 61", "F16, 2503", "BF16, 48", "BF16, 172", "BF16, 2503",
            "Q8_0, 64", "Q8_0, 160", "Q8_0, 2048", "Q4_0, 96", "Q4_0, 2048"})
    void unpackedMatmulEqualsDotBitForBitInEveryBatchAndRowRange(GgmlType type, int cols) {
        assertMatmulEqualsDotBitForBit(type, cols);
    }

    private void assertMatmulEqualsDotBitForBit(GgmlType type, int cols) {
        int rows = 29;
        var random = new SplittableRandom(cols);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        Path file = dir.resolve(type + "-" + cols + ".gguf");
        new GgufWriter().tensor("m", type, new long[] {cols, rows}, values).write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            FloatTensor tensor = FloatTensor.of(type, gguf.tensor("m").data());
            for (int batch = 1; batch <= 13; batch++) {
                float[][] x = new float[batch][cols];
                for (float[] input : x) {
                    for (int i = 0; i < cols; i++) {
                        input[i] = (float) random.nextGaussian();
                    }
                }
                for (int[] range : new int[][] {{0, rows}, {3, 20}, {5, 6}}) {
                    float[][] out = new float[batch][rows];
                    tensor.matmulRows(x, out, batch, range[0], range[1], cols);
                    for (int b = 0; b < batch; b++) {
                        for (int r = range[0]; r < range[1]; r++) {
                            float expected = tensor.dot((long) r * cols, x[b], cols);
                            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[b][r]),
                                    type + ", cols " + cols + ", batch " + batch + ", input " + b + ", row " + r);
                        }
                    }
                }
            }
        }
    }

    @Test
    void halfPrecisionWideningIsExactForSubnormalsSignsAndExtremes() {
        float[] values = new float[64];
        float[] special = {0f, -0f, 65504f, -65504f, 0x1.0p-24f, -0x1.0p-24f, 0x1.ff8p-15f, 6.1035156e-5f, 1f, -2.5f};
        for (int i = 0; i < values.length; i++) {
            values[i] = special[i % special.length];
        }
        Path file = dir.resolve("special.gguf");
        new GgufWriter().tensor("v", GgmlType.F16, new long[] {64}, values).write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            FloatTensor tensor = FloatTensor.of(GgmlType.F16, gguf.tensor("v").data());
            for (int i = 0; i < values.length; i++) {
                assertEquals(values[i], tensor.get(i), "element " + i);
                float[] oneHot = new float[64];
                oneHot[i] = 1f;
                float dot = tensor.dot(0, oneHot, 64);
                assertEquals(Math.abs(values[i]), Math.abs(dot), "vectorized element " + i);
                assertTrue(values[i] == 0 || Math.signum(values[i]) == Math.signum(dot), "sign of element " + i);
            }
        }
    }
}
