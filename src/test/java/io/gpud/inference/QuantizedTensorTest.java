package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufTensor;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every quantized type against ggml itself: {@code quant-types.gguf} holds, per type, a
 * tensor quantized by the reference quantizer and beside it the reference dequantization
 * (see {@code src/test/reference/quants/make-quant-fixtures.py}). Its rows are Gaussian, all
 * zero, near the F16 range's top (scales near 65504), tiny (subnormal or zero F16 scales),
 * blocks of zeros between blocks of wildly different magnitudes, and all positive.
 *
 * <p>{@link FloatTensor#get} must equal the reference bit for bit: both compute each element
 * with the same float32 operations in the same order (an F16 scale widened exactly, the
 * products and differences rounded one at a time). {@link FloatTensor#dot} sums float32
 * products of those elements in some order, so it must lie within n × 2⁻²⁴ × Σ|wᵢxᵢ| of the
 * float64 sum (the classic bound for any order of n − 1 float32 additions of exact
 * products, rounded once more each). And {@link FloatTensor#matmulRows} must give every
 * output bit for bit as {@link FloatTensor#dot} does, whatever the batch and row range.
 */
class QuantizedTensorTest {
    private static GgufFile fixture;

    @BeforeAll
    static void open() throws URISyntaxException {
        fixture = GgufFile.open(Path.of(QuantizedTensorTest.class.getResource("quants/quant-types.gguf").toURI()));
    }

    @AfterAll
    static void close() {
        fixture.close();
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
            "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void elementsEqualTheReferenceDequantizationBitForBit(GgmlType type) {
        GgufTensor quantized = fixture.tensor(type.name());
        assertEquals(type, quantized.type());
        FloatTensor tensor = FloatTensor.of(type, quantized.data());
        FloatTensor reference = FloatTensor.of(GgmlType.F32, fixture.tensor(type.name() + ".dequantized").data());
        assertEquals(reference.size, tensor.size);
        for (long i = 0; i < tensor.size; i++) {
            float expected = reference.get(i);
            float actual = tensor.get(i);
            if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
                throw new AssertionError(type + " element " + i + " (row " + i / cols(quantized) + "): expected "
                        + expected + ", got " + actual);
            }
        }
    }

    /** The vector path writes the same values as the scalar one, block by block. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
            "IQ4_NL", "IQ4_XS"})
    void vectorDequantizationEqualsTheReferenceBitForBit(GgmlType type) {
        var tensor = (QuantizedTensor) FloatTensor.of(type, fixture.tensor(type.name()).data());
        FloatTensor reference = FloatTensor.of(GgmlType.F32, fixture.tensor(type.name() + ".dequantized").data());
        float[] block = new float[type.blockSize()];
        for (long b = 0; b < tensor.size / block.length; b++) {
            tensor.dequantize(b * type.bytesPerBlock(), block, 0);
            for (int i = 0; i < block.length; i++) {
                long index = b * block.length + i;
                assertEquals(Float.floatToRawIntBits(reference.get(index)), Float.floatToRawIntBits(block[i]),
                        type + " element " + index + ": expected " + reference.get(index) + ", got " + block[i]);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
            "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void dotsAgreeWithAFloat64SumOfTheReferenceElements(GgmlType type) {
        GgufTensor quantized = fixture.tensor(type.name());
        FloatTensor tensor = FloatTensor.of(type, quantized.data());
        FloatTensor reference = FloatTensor.of(GgmlType.F32, fixture.tensor(type.name() + ".dequantized").data());
        int cols = cols(quantized);
        int rows = Math.toIntExact(tensor.size / cols);
        int block = type.blockSize();
        float[] x = gaussian(new SplittableRandom(type.ordinal()), cols);
        int[][] spans = { // {first element within the row, elements}: one block, several, a whole row
                {0, block}, {block, block}, {0, 2 * block}, {block, cols - block}, {0, cols}};
        for (int row = 0; row < rows; row++) {
            for (int[] span : spans) {
                long offset = (long) row * cols + span[0];
                int n = span[1];
                float[] xs = Arrays.copyOfRange(x, span[0], span[0] + n);
                double expected = 0;
                double magnitude = 0;
                for (int i = 0; i < n; i++) {
                    double product = (double) reference.get(offset + i) * xs[i];
                    expected += product;
                    magnitude += Math.abs(product);
                }
                float actual = tensor.dot(offset, xs, n);
                assertEquals(expected, actual, n * 0x1.0p-24 * magnitude,
                        type + " row " + row + ", elements " + span[0] + " to " + (span[0] + n));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
            "IQ4_NL", "IQ4_XS"})
    void matmulEqualsDotBitForBitInEveryBatchAndRowRange(GgmlType type) {
        GgufTensor quantized = fixture.tensor(type.name());
        FloatTensor tensor = FloatTensor.of(type, quantized.data());
        int cols = cols(quantized);
        int rows = Math.toIntExact(tensor.size / cols);
        var random = new SplittableRandom(7);
        for (int batch = 1; batch <= 9; batch++) {
            float[][] x = new float[batch][];
            for (int b = 0; b < batch; b++) {
                x[b] = gaussian(random, cols);
            }
            for (int[] range : new int[][] {{0, rows}, {2, 5}, {6, 7}}) {
                float[][] out = new float[batch][rows];
                tensor.matmulRows(x, out, batch, range[0], range[1], cols);
                for (int b = 0; b < batch; b++) {
                    for (int r = range[0]; r < range[1]; r++) {
                        float expected = tensor.dot((long) r * cols, x[b], cols);
                        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[b][r]),
                                type + " batch " + batch + ", input " + b + ", row " + r);
                    }
                }
            }
        }
        assertTrue(rows >= 7, "the fixture has the rows the ranges above name");
    }

    private static int cols(GgufTensor tensor) {
        return Math.toIntExact(tensor.dims()[0]);
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
