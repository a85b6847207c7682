package io.gpud.inference;

import io.gpud.model.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A read-only vector or row-major matrix of weights over a memory-mapped
 * {@link MemorySegment}, stored as F32 or F16. The forward pass needs three things from it:
 * an element, a row copied out (embedding lookup), and the dot product of a row with an
 * activation vector (matrix × vector).
 */
abstract sealed class FloatTensor permits FloatTensor.F32, FloatTensor.F16 {
    static final ValueLayout.OfFloat F32_LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort F16_LAYOUT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final MemorySegment data;
    final long size;

    private FloatTensor(MemorySegment data, long size) {
        this.data = data;
        this.size = size;
    }

    /** A tensor of {@code type} over {@code data}, which holds exactly its elements. */
    static FloatTensor of(GgmlType type, MemorySegment data) {
        return switch (type) {
            case F32 -> new F32(data);
            case F16 -> new F16(data);
            default -> throw new InferenceException("unsupported tensor type " + type);
        };
    }

    abstract float get(long index);

    /** Σ this[offset + i] · x[i] for i in [0, n). */
    abstract float dot(long offset, float[] x, int n);

    /** out[r] = row r · x for r in [0, rows), the matrix being {@code rows × cols}. */
    final void matmul(float[] x, float[] out, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            out[r] = dot((long) r * cols, x, cols);
        }
    }

    /** Copies row {@code row} of a matrix with {@code cols} columns into {@code out}. */
    final void copyRow(int row, int cols, float[] out) {
        long base = (long) row * cols;
        for (int i = 0; i < cols; i++) {
            out[i] = get(base + i);
        }
    }

    /** All elements as a heap array (for small vectors such as RMSNorm weights). */
    final float[] toArray() {
        float[] out = new float[Math.toIntExact(size)];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(i);
        }
        return out;
    }

    /** Float32 elements; the dot product runs on the Vector API. */
    static final class F32 extends FloatTensor {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

        F32(MemorySegment data) {
            super(data, data.byteSize() / Float.BYTES);
        }

        @Override
        float get(long index) {
            return data.getAtIndex(F32_LAYOUT, index);
        }

        @Override
        float dot(long offset, float[] x, int n) {
            FloatVector acc = FloatVector.zero(SPECIES);
            int upper = SPECIES.loopBound(n);
            int i = 0;
            for (; i < upper; i += SPECIES.length()) {
                FloatVector w = FloatVector.fromMemorySegment(SPECIES, data, (offset + i) * Float.BYTES,
                        ByteOrder.LITTLE_ENDIAN);
                acc = w.fma(FloatVector.fromArray(SPECIES, x, i), acc);
            }
            float sum = acc.reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) {
                sum += get(offset + i) * x[i];
            }
            return sum;
        }
    }

    /** IEEE half-precision elements, converted one by one (correct, not fast). */
    static final class F16 extends FloatTensor {
        F16(MemorySegment data) {
            super(data, data.byteSize() / Short.BYTES);
        }

        @Override
        float get(long index) {
            return Float.float16ToFloat(data.getAtIndex(F16_LAYOUT, index));
        }

        @Override
        float dot(long offset, float[] x, int n) {
            float sum = 0f;
            for (int i = 0; i < n; i++) {
                sum += get(offset + i) * x[i];
            }
            return sum;
        }
    }
}
