package io.gpud.inference;

import io.gpud.model.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A read-only vector or row-major matrix of weights over a memory-mapped
 * {@link MemorySegment}, stored as F32, F16, BF16, Q8_0 or Q4_0: the kernels of the forward
 * pass. It offers an element, a row copied out (embedding lookup), and matrix × vectors
 * ({@link #matmul}), built on {@link #dot}, the one place where time goes.
 *
 * <p>Every output element is one {@link #dot} of one weight row with one activation vector,
 * always in the same order of operations, whichever batch the vector is in and whichever
 * thread computes it: batching and threading change nothing in the results, bit for bit.
 * A batch of vectors is multiplied row by row, so each weight row is read from memory once
 * for the whole batch (that is what makes batching pay on memory-bound hardware); a type
 * may read a row once for several inputs ({@link #matmulRows}), never changing an output.
 *
 * <p>The dot products run on the Vector API. Quantized blocks are widened to float lanes
 * and multiplied with the float activations (activations are not quantized), each block's
 * sum scaled by its F16 scale.
 */
abstract sealed class FloatTensor permits FloatTensor.F32, FloatTensor.Half, FloatTensor.Blocks {
    static final ValueLayout.OfFloat F32_LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort F16_LAYOUT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    /** Bytes, shorts and ints with as many lanes as {@link #FLOATS}. */
    static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(FLOATS.length() * 8));
    static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.length() * 16));
    static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    private static final int LANES = FLOATS.length();

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
            case BF16 -> new BF16(data);
            case Q8_0 -> new Q8(data);
            case Q4_0 -> new Q4(data);
            default -> throw new InferenceException("unsupported tensor type " + type);
        };
    }

    abstract float get(long index);

    /** Σ this[offset + i] · x[i] for i in [0, n); for block types offset and n are whole blocks. */
    abstract float dot(long offset, float[] x, int n);

    /**
     * out[b][r] = row r · x[b] for r in [0, rows), b in [0, batch), the matrix being
     * {@code rows × cols}; rows are split across {@code threads} when the product is large.
     */
    final void matmul(float[][] x, float[][] out, int batch, int rows, int cols, Parallel threads) {
        threads.forRange(rows, (long) batch * rows * cols, (from, to) -> matmulRows(x, out, batch, from, to, cols));
    }

    /**
     * out[b][r] = dot(r × cols, x[b], cols) for r in [from, to), b in [0, batch), bit for bit;
     * a type may override it to read each row once for several inputs.
     */
    void matmulRows(float[][] x, float[][] out, int batch, int from, int to, int cols) {
        for (int r = from; r < to; r++) {
            long offset = (long) r * cols;
            for (int b = 0; b < batch; b++) {
                out[b][r] = dot(offset, x[b], cols);
            }
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

    /**
     * Float32 elements. Its dot product runs on vectors of 256 bits (or the preferred width
     * when narrower) with four accumulators over consecutive vectors: on AVX-512 hardware
     * narrower loads stream a matrix from memory faster than 512-bit ones, and the products
     * are memory-bound. {@link #matmulRows} reads each row once for up to four inputs, in
     * the row's memory order, with the same arithmetic per input as {@link #dot}.
     */
    static final class F32 extends FloatTensor {
        static final VectorSpecies<Float> DOT = FLOATS.vectorBitSize() > 256 ? FloatVector.SPECIES_256 : FLOATS;
        private static final int W = DOT.length();
        private static final int W_BYTES = W * Float.BYTES;
        private static final int CHUNK_BYTES = 4096;

        F32(MemorySegment data) {
            super(data, data.byteSize() / Float.BYTES);
        }

        @Override
        float get(long index) {
            return data.getAtIndex(F32_LAYOUT, index);
        }

        @Override
        float dot(long offset, float[] x, int n) {
            FloatVector a0 = FloatVector.zero(DOT);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            MemorySegment d = data;
            long base = offset * Float.BYTES;
            int i = 0;
            for (; i + 4 * W <= n; i += 4 * W) {
                long at = base + (long) i * Float.BYTES;
                a0 = load(d, at).fma(FloatVector.fromArray(DOT, x, i), a0);
                a1 = load(d, at + W_BYTES).fma(FloatVector.fromArray(DOT, x, i + W), a1);
                a2 = load(d, at + 2 * W_BYTES).fma(FloatVector.fromArray(DOT, x, i + 2 * W), a2);
                a3 = load(d, at + 3 * W_BYTES).fma(FloatVector.fromArray(DOT, x, i + 3 * W), a3);
            }
            for (; i + W <= n; i += W) {
                a0 = load(d, base + (long) i * Float.BYTES).fma(FloatVector.fromArray(DOT, x, i), a0);
            }
            float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) {
                sum += get(offset + i) * x[i];
            }
            return sum;
        }

        /**
         * Rows in chunks of about {@link #CHUNK_BYTES} (they stay in the L1 cache while every
         * group of four inputs, then each remaining input, runs over them), so each row comes
         * from memory once per step; the loops over rows are inside the kernels.
         */
        @Override
        void matmulRows(float[][] x, float[][] out, int batch, int from, int to, int cols) {
            int chunk = Math.max(1, CHUNK_BYTES / (cols * Float.BYTES));
            for (int start = from; start < to; start += chunk) {
                int end = Math.min(to, start + chunk);
                int b = 0;
                for (; b + 4 <= batch; b += 4) {
                    dot4(x[b], x[b + 1], x[b + 2], x[b + 3], out[b], out[b + 1], out[b + 2], out[b + 3], start, end,
                            cols);
                }
                for (; b < batch; b++) {
                    dot1(x[b], out[b], start, end, cols);
                }
            }
        }

        /** out[r] = dot(r × n, x, n) for r in [from, to). */
        private void dot1(float[] x, float[] out, int from, int to, int n) {
            MemorySegment d = data;
            for (int r = from; r < to; r++) {
                FloatVector a0 = FloatVector.zero(DOT);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                long base = (long) r * n * Float.BYTES;
                int i = 0;
                for (; i + 4 * W <= n; i += 4 * W) {
                    long at = base + (long) i * Float.BYTES;
                    a0 = load(d, at).fma(FloatVector.fromArray(DOT, x, i), a0);
                    a1 = load(d, at + W_BYTES).fma(FloatVector.fromArray(DOT, x, i + W), a1);
                    a2 = load(d, at + 2 * W_BYTES).fma(FloatVector.fromArray(DOT, x, i + 2 * W), a2);
                    a3 = load(d, at + 3 * W_BYTES).fma(FloatVector.fromArray(DOT, x, i + 3 * W), a3);
                }
                for (; i + W <= n; i += W) {
                    a0 = load(d, base + (long) i * Float.BYTES).fma(FloatVector.fromArray(DOT, x, i), a0);
                }
                float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
                for (; i < n; i++) {
                    sum += get((long) r * n + i) * x[i];
                }
                out[r] = sum;
            }
        }

        /** outJ[r] = dot(r × n, xJ, n) for J in [0, 4), r in [from, to), each weight vector loaded once. */
        private void dot4(float[] x0, float[] x1, float[] x2, float[] x3, float[] out0, float[] out1, float[] out2,
                          float[] out3, int from, int to, int n) {
            MemorySegment d = data;
            for (int r = from; r < to; r++) {
                FloatVector a0 = FloatVector.zero(DOT);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector b0 = a0;
                FloatVector b1 = a0;
                FloatVector b2 = a0;
                FloatVector b3 = a0;
                FloatVector c0 = a0;
                FloatVector c1 = a0;
                FloatVector c2 = a0;
                FloatVector c3 = a0;
                FloatVector d0 = a0;
                FloatVector d1 = a0;
                FloatVector d2 = a0;
                FloatVector d3 = a0;
                long offset = (long) r * n;
                long base = offset * Float.BYTES;
                int i = 0;
                for (; i + 4 * W <= n; i += 4 * W) {
                    long at = base + (long) i * Float.BYTES;
                    FloatVector w0 = load(d, at);
                    FloatVector w1 = load(d, at + W_BYTES);
                    FloatVector w2 = load(d, at + 2 * W_BYTES);
                    FloatVector w3 = load(d, at + 3 * W_BYTES);
                    a0 = w0.fma(FloatVector.fromArray(DOT, x0, i), a0);
                    a1 = w1.fma(FloatVector.fromArray(DOT, x0, i + W), a1);
                    a2 = w2.fma(FloatVector.fromArray(DOT, x0, i + 2 * W), a2);
                    a3 = w3.fma(FloatVector.fromArray(DOT, x0, i + 3 * W), a3);
                    b0 = w0.fma(FloatVector.fromArray(DOT, x1, i), b0);
                    b1 = w1.fma(FloatVector.fromArray(DOT, x1, i + W), b1);
                    b2 = w2.fma(FloatVector.fromArray(DOT, x1, i + 2 * W), b2);
                    b3 = w3.fma(FloatVector.fromArray(DOT, x1, i + 3 * W), b3);
                    c0 = w0.fma(FloatVector.fromArray(DOT, x2, i), c0);
                    c1 = w1.fma(FloatVector.fromArray(DOT, x2, i + W), c1);
                    c2 = w2.fma(FloatVector.fromArray(DOT, x2, i + 2 * W), c2);
                    c3 = w3.fma(FloatVector.fromArray(DOT, x2, i + 3 * W), c3);
                    d0 = w0.fma(FloatVector.fromArray(DOT, x3, i), d0);
                    d1 = w1.fma(FloatVector.fromArray(DOT, x3, i + W), d1);
                    d2 = w2.fma(FloatVector.fromArray(DOT, x3, i + 2 * W), d2);
                    d3 = w3.fma(FloatVector.fromArray(DOT, x3, i + 3 * W), d3);
                }
                for (; i + W <= n; i += W) {
                    FloatVector w0 = load(d, base + (long) i * Float.BYTES);
                    a0 = w0.fma(FloatVector.fromArray(DOT, x0, i), a0);
                    b0 = w0.fma(FloatVector.fromArray(DOT, x1, i), b0);
                    c0 = w0.fma(FloatVector.fromArray(DOT, x2, i), c0);
                    d0 = w0.fma(FloatVector.fromArray(DOT, x3, i), d0);
                }
                float s0 = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
                float s1 = b0.add(b1).add(b2.add(b3)).reduceLanes(VectorOperators.ADD);
                float s2 = c0.add(c1).add(c2.add(c3)).reduceLanes(VectorOperators.ADD);
                float s3 = d0.add(d1).add(d2.add(d3)).reduceLanes(VectorOperators.ADD);
                for (; i < n; i++) {
                    float w = get(offset + i);
                    s0 += w * x0[i];
                    s1 += w * x1[i];
                    s2 += w * x2[i];
                    s3 += w * x3[i];
                }
                out0[r] = s0;
                out1[r] = s1;
                out2[r] = s2;
                out3[r] = s3;
            }
        }

        private static FloatVector load(MemorySegment d, long at) {
            return FloatVector.fromMemorySegment(DOT, d, at, ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Elements with 16 bits each, widened to float lanes by integer operations. */
    private abstract static sealed class Half extends FloatTensor permits F16, BF16 {
        Half(MemorySegment data) {
            super(data, data.byteSize() / Short.BYTES);
        }

        abstract FloatVector widen(IntVector bits);

        @Override
        final float dot(long offset, float[] x, int n) {
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            long base = offset * Short.BYTES;
            int i = 0;
            for (int upper = n - 2 * LANES; i <= upper; i += 2 * LANES) {
                a0 = load(base, i).fma(FloatVector.fromArray(FLOATS, x, i), a0);
                a1 = load(base, i + LANES).fma(FloatVector.fromArray(FLOATS, x, i + LANES), a1);
            }
            for (int upper = n - LANES; i <= upper; i += LANES) {
                a0 = load(base, i).fma(FloatVector.fromArray(FLOATS, x, i), a0);
            }
            float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) {
                sum += get(offset + i) * x[i];
            }
            return sum;
        }

        private FloatVector load(long base, int i) {
            var halves = ShortVector.fromMemorySegment(SHORTS, data, base + (long) i * Short.BYTES,
                    ByteOrder.LITTLE_ENDIAN);
            var bits = (IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0);
            return widen(bits.and(0xFFFF));
        }
    }

    /** IEEE half-precision elements. */
    static final class F16 extends Half {
        private static final float EXPONENT_SHIFT = 0x1.0p112f;

        F16(MemorySegment data) {
            super(data);
        }

        @Override
        float get(long index) {
            return Float.float16ToFloat(data.getAtIndex(F16_LAYOUT, index));
        }

        /**
         * Moves exponent and mantissa into float position and rescales by 2^112, which is exact
         * for normal and subnormal halves; infinities and NaNs get the all-ones exponent.
         */
        @Override
        FloatVector widen(IntVector h) {
            IntVector magnitude = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
            FloatVector value = magnitude.reinterpretAsFloats().mul(EXPONENT_SHIFT);
            IntVector bits = value.reinterpretAsInts();
            VectorMask<Integer> special = h.and(0x7C00).compare(VectorOperators.EQ, 0x7C00);
            bits = bits.blend(magnitude.or(0x7F800000), special);
            return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
        }
    }

    /** bfloat16 elements: the upper half of a float32. */
    static final class BF16 extends Half {
        BF16(MemorySegment data) {
            super(data);
        }

        @Override
        float get(long index) {
            return Float.intBitsToFloat((data.getAtIndex(F16_LAYOUT, index) & 0xFFFF) << 16);
        }

        @Override
        FloatVector widen(IntVector h) {
            return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        }
    }

    /** Blocks of 32 elements: an F16 scale, then the quants. */
    private abstract static sealed class Blocks extends FloatTensor permits Q8, Q4 {
        static final int BLOCK = 32;
        final int blockBytes;

        Blocks(MemorySegment data, int blockBytes) {
            super(data, data.byteSize() / blockBytes * BLOCK);
            this.blockBytes = blockBytes;
        }

        final float scale(long block) {
            return Float.float16ToFloat(data.get(F16_LAYOUT, block * blockBytes));
        }

        abstract int quant(long block, int i);

        @Override
        final float get(long index) {
            long block = index / BLOCK;
            return scale(block) * quant(block, (int) (index % BLOCK));
        }

        /** Σ quant · x over one block, unscaled. */
        abstract FloatVector blockDot(long quants, float[] x, int i);

        @Override
        final float dot(long offset, float[] x, int n) {
            long firstBlock = offset / BLOCK;
            int blocks = n / BLOCK;
            if (LANES > BLOCK / 2 || BLOCK % LANES != 0) {
                return scalarDot(firstBlock, x, blocks);
            }
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int b = 0; b < blocks; b++) {
                long block = firstBlock + b;
                acc = blockDot(block * blockBytes + Short.BYTES, x, b * BLOCK).fma(FloatVector.broadcast(FLOATS, scale(block)), acc);
            }
            return acc.reduceLanes(VectorOperators.ADD);
        }

        private float scalarDot(long firstBlock, float[] x, int blocks) {
            float sum = 0;
            for (int b = 0; b < blocks; b++) {
                float blockSum = 0;
                for (int i = 0; i < BLOCK; i++) {
                    blockSum += quant(firstBlock + b, i) * x[b * BLOCK + i];
                }
                sum += blockSum * scale(firstBlock + b);
            }
            return sum;
        }
    }

    /** Q8_0: 32 signed bytes per block. */
    static final class Q8 extends Blocks {
        Q8(MemorySegment data) {
            super(data, 34);
        }

        @Override
        int quant(long block, int i) {
            return data.get(ValueLayout.JAVA_BYTE, block * blockBytes + Short.BYTES + i);
        }

        @Override
        FloatVector blockDot(long quants, float[] x, int i) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int j = 0; j < BLOCK; j += LANES) {
                var q = ByteVector.fromMemorySegment(BYTES, data, quants + j, ByteOrder.LITTLE_ENDIAN);
                var w = (FloatVector) q.convertShape(VectorOperators.B2F, FLOATS, 0);
                acc = w.fma(FloatVector.fromArray(FLOATS, x, i + j), acc);
            }
            return acc;
        }
    }

    /** Q4_0: 16 bytes of nibble pairs per block, offset by 8. */
    static final class Q4 extends Blocks {
        Q4(MemorySegment data) {
            super(data, 18);
        }

        @Override
        int quant(long block, int i) {
            int packed = data.get(ValueLayout.JAVA_BYTE, block * blockBytes + Short.BYTES + (i % 16)) & 0xFF;
            return (i < 16 ? packed & 0x0F : packed >>> 4) - 8;
        }

        @Override
        FloatVector blockDot(long quants, float[] x, int i) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int j = 0; j < BLOCK / 2; j += LANES) {
                var packed = ByteVector.fromMemorySegment(BYTES, data, quants + j, ByteOrder.LITTLE_ENDIAN);
                var low = (FloatVector) packed.and((byte) 0x0F).sub((byte) 8)
                        .convertShape(VectorOperators.B2F, FLOATS, 0);
                var high = (FloatVector) packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                        .convertShape(VectorOperators.B2F, FLOATS, 0);
                acc = low.fma(FloatVector.fromArray(FLOATS, x, i + j), acc);
                acc = high.fma(FloatVector.fromArray(FLOATS, x, i + BLOCK / 2 + j), acc);
            }
            return acc;
        }
    }
}
