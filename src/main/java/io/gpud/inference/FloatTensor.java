package io.gpud.inference;

import io.gpud.model.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * A read-only vector or row-major matrix of weights over a memory-mapped
 * {@link MemorySegment}, stored as F32, F16, BF16, Q8_0 or Q4_0 (here) or one of the other
 * quantized types of llama.cpp's presets ({@link QuantizedTensor}): the kernels of the forward
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
 * <p>The dot products run on the Vector API. F32 rows are multiplied where they lie; every
 * other type turns its elements into floats (half precision widened, quantized blocks'
 * quants times their F16 scale) and multiplies those with the float activations
 * (activations are not quantized): one input converts as it reads ({@link #dot}), a batch
 * unpacks a chunk of rows once ({@link Unpacked#dequantize}) and runs its inputs over the floats,
 * in one order of operations that {@link DequantizedMatmul} describes.
 */
abstract sealed class FloatTensor permits FloatTensor.F32, FloatTensor.Unpacked, QuantizedTensor {
    static final ValueLayout.OfFloat F32_LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort F16_LAYOUT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    final MemorySegment data;
    final long size;

    FloatTensor(MemorySegment data, long size) {
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
            default -> {
                QuantizedTensor quantized = QuantizedTensor.of(type, data);
                if (quantized == null) {
                    throw new InferenceException("unsupported tensor type " + type);
                }
                yield quantized;
            }
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
        if (batch == 0) {
            return; // the kernels read x[0] as a single input
        }
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

    /** sum + Σ this[offset + j] · x[j] for j in [from, n), in order. */
    final float tail(float sum, long offset, float[] x, int from, int n) {
        for (int j = from; j < n; j++) {
            sum += get(offset + j) * x[j];
        }
        return sum;
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
     * Float32 elements, multiplied on 256-bit vectors (eight floats; narrower loads stream a
     * matrix from memory at least as fast as 512-bit ones, and the products are
     * memory-bound).
     *
     * <p>Every output is computed the same way, whichever kernel computes it: one vector
     * accumulator over the row's whole 8-float slices in order, its eight lanes summed as a
     * tree ({@code ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7))}), then the remaining elements added
     * one by one. The kernels differ only in how many rows and inputs share a pass: eight
     * rows × one input, one row × eight inputs, two rows × four inputs, one × one, so each
     * input slice is loaded once for several rows and each weight slice once for several
     * inputs, with independent accumulators; a large matrix with one input goes row after row in memory order instead
     * (one stream the hardware prefetcher follows from memory). Groups of rows are read
     * through a {@link MemorySegment#asSlice slice} of their own, which lets the compiler
     * check bounds once per group instead of once per load. The lane sums of eight rows (or
     * of rows × inputs) are taken together ({@link #rowSums8}): pairs of lanes are added with
     * a permuted copy and the results of two rows merged with a blend, three times, so eight
     * rows cost three rounds of permute-add-blend instead of eight ordered reductions.
     *
     * <p>The kernels write that tree out instead of calling {@link #rowSums8}, and the
     * row-after-row kernel adds each row's lanes as scalars in the same order: a kernel is
     * large enough that the compiler may decline to inline a call, and a call that is not
     * inlined boxes its vector arguments on every row, which made the speed of a run depend
     * on the compiler's choices.
     */
    static final class F32 extends FloatTensor {
        static final VectorSpecies<Float> DOT = FloatVector.SPECIES_256;
        private static final int W = DOT.length();
        /** Bytes of rows kept in the L1 cache while every input of a batch runs over them. */
        private static final int CHUNK_BYTES = 16384;
        /**
         * Floats of a matrix above which one input runs over the rows in memory order:
         * eight rows read side by side are eight short streams, which the prefetcher does not
         * follow from memory; small matrices stay in the cache and gain from sharing x.
         */
        private static final long INTERLEAVED_MAX_FLOATS = 65_536;
        private static final VectorShuffle<Float> SWAP_1 = VectorShuffle.fromValues(DOT, 1, 0, 3, 2, 5, 4, 7, 6);
        private static final VectorShuffle<Float> SWAP_2 = VectorShuffle.fromValues(DOT, 2, 3, 0, 1, 6, 7, 4, 5);
        private static final VectorShuffle<Float> SWAP_4 = VectorShuffle.fromValues(DOT, 4, 5, 6, 7, 0, 1, 2, 3);
        private static final VectorMask<Float> ODD_1 = VectorMask.fromValues(DOT,
                false, true, false, true, false, true, false, true);
        private static final VectorMask<Float> ODD_2 = VectorMask.fromValues(DOT,
                false, false, true, true, false, false, true, true);
        private static final VectorMask<Float> ODD_4 = VectorMask.fromValues(DOT,
                false, false, false, false, true, true, true, true);

        F32(MemorySegment data) {
            super(data, data.byteSize() / Float.BYTES);
        }

        @Override
        float get(long index) {
            return data.getAtIndex(F32_LAYOUT, index);
        }

        @Override
        float dot(long offset, float[] x, int n) {
            MemorySegment d = data.asSlice(offset * Float.BYTES, (long) n * Float.BYTES);
            FloatVector a = FloatVector.zero(DOT);
            int i = 0;
            for (; i + W <= n; i += W) {
                a = load(d, i * 4L).fma(FloatVector.fromArray(DOT, x, i), a);
            }
            return tail(rowSums8(a, a, a, a, a, a, a, a).lane(0), offset, x, i, n);
        }

        /**
         * Rows in chunks of about {@link #CHUNK_BYTES}, which stay in the L1 cache while every
         * group of eight inputs, then of four, then each remaining input, runs over them, so
         * each row comes from memory once per step. A group of eight, when its eight inputs
         * fit in {@link #CHUNK_BYTES} (rows of up to 512 floats), reads the rows in memory
         * order, each weight slice once for all eight; longer rows (whose eight inputs would
         * push the rows out of the L1 cache) go in groups of four, and then, for a large
         * matrix, the first input reads the chunk in memory order and the others find it in
         * the cache. A single input over a large matrix reads all its rows in memory order in
         * one pass.
         */
        @Override
        void matmulRows(float[][] x, float[][] out, int batch, int from, int to, int cols) {
            if (batch == 1 && size > INTERLEAVED_MAX_FLOATS) {
                rowsInOrder(x[0], out[0], from, to, cols);
                return;
            }
            int chunk = Math.max(8, CHUNK_BYTES / (cols * Float.BYTES) / 8 * 8);
            for (int start = from; start < to; start += chunk) {
                int end = Math.min(to, start + chunk);
                int b = 0;
                for (; 8 * cols * Float.BYTES <= CHUNK_BYTES && b + 8 <= batch; b += 8) {
                    rows1x8(x, out, b, start, end, cols);
                }
                if (b == 0 && size > INTERLEAVED_MAX_FLOATS) {
                    rowsInOrder(x[0], out[0], start, end, cols); // brings the chunk from memory in order
                    b = 1;
                }
                for (; b + 4 <= batch; b += 4) {
                    rows2x4(x[b], x[b + 1], x[b + 2], x[b + 3], out[b], out[b + 1], out[b + 2], out[b + 3], start,
                            end, cols);
                }
                for (; b < batch; b++) {
                    rows8x1(x[b], out[b], start, end, cols);
                }
            }
        }

        /**
         * out[r] = dot(r × n, x, n) for r in [from, to), one row after the other in memory
         * order (one stream the hardware prefetcher follows). Each row's lanes are summed as
         * scalars in {@link #rowSums8}'s order, so nothing here allocates or passes a vector
         * to a call the compiler might leave out of line.
         */
        private void rowsInOrder(float[] x, float[] out, int from, int to, int n) {
            long rowBytes = (long) n * Float.BYTES;
            int whole = n / W * W;
            MemorySegment d = data.asSlice(from * rowBytes, (to - from) * rowBytes);
            for (int r = from; r < to; r++) {
                long at = (r - from) * rowBytes;
                FloatVector a = FloatVector.zero(DOT);
                for (int i = 0; i < whole; i += W) {
                    a = load(d, at + i * 4L).fma(FloatVector.fromArray(DOT, x, i), a);
                }
                float sum = ((a.lane(0) + a.lane(1)) + (a.lane(2) + a.lane(3)))
                        + ((a.lane(4) + a.lane(5)) + (a.lane(6) + a.lane(7)));
                out[r] = whole < n ? tail(sum, (long) r * n, x, whole, n) : sum;
            }
        }

        /** out[r] = dot(r × n, x, n) for r in [from, to), eight rows per pass sharing each load of x. */
        private void rows8x1(float[] x, float[] out, int from, int to, int n) {
            long rowBytes = (long) n * Float.BYTES;
            int r = from;
            for (; r + 8 <= to; r += 8) {
                MemorySegment d = data.asSlice(r * rowBytes, 8 * rowBytes);
                FloatVector a0 = FloatVector.zero(DOT);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector a4 = a0;
                FloatVector a5 = a0;
                FloatVector a6 = a0;
                FloatVector a7 = a0;
                int i = 0;
                for (; i + W <= n; i += W) {
                    FloatVector xi = FloatVector.fromArray(DOT, x, i);
                    long at = i * 4L;
                    a0 = load(d, at).fma(xi, a0);
                    a1 = load(d, at + rowBytes).fma(xi, a1);
                    a2 = load(d, at + 2 * rowBytes).fma(xi, a2);
                    a3 = load(d, at + 3 * rowBytes).fma(xi, a3);
                    a4 = load(d, at + 4 * rowBytes).fma(xi, a4);
                    a5 = load(d, at + 5 * rowBytes).fma(xi, a5);
                    a6 = load(d, at + 6 * rowBytes).fma(xi, a6);
                    a7 = load(d, at + 7 * rowBytes).fma(xi, a7);
                }
                // rowSums8, written out (see the class comment)
                FloatVector p01 = a0.add(a0.rearrange(SWAP_1)).blend(a1.add(a1.rearrange(SWAP_1)), ODD_1);
                FloatVector p23 = a2.add(a2.rearrange(SWAP_1)).blend(a3.add(a3.rearrange(SWAP_1)), ODD_1);
                FloatVector p45 = a4.add(a4.rearrange(SWAP_1)).blend(a5.add(a5.rearrange(SWAP_1)), ODD_1);
                FloatVector p67 = a6.add(a6.rearrange(SWAP_1)).blend(a7.add(a7.rearrange(SWAP_1)), ODD_1);
                FloatVector q03 = p01.add(p01.rearrange(SWAP_2)).blend(p23.add(p23.rearrange(SWAP_2)), ODD_2);
                FloatVector q47 = p45.add(p45.rearrange(SWAP_2)).blend(p67.add(p67.rearrange(SWAP_2)), ODD_2);
                q03.add(q03.rearrange(SWAP_4)).blend(q47.add(q47.rearrange(SWAP_4)), ODD_4).intoArray(out, r);
                if (i < n) {
                    for (int k = r; k < r + 8; k++) {
                        out[k] = tail(out[k], (long) k * n, x, i, n);
                    }
                }
            }
            for (; r < to; r++) {
                out[r] = dot((long) r * n, x, n);
            }
        }

        /** outJ[r] = dot(r × n, xJ, n) for J in [0, 4), r in [from, to), two rows per pass. */
        private void rows2x4(float[] x0, float[] x1, float[] x2, float[] x3, float[] out0, float[] out1,
                             float[] out2, float[] out3, int from, int to, int n) {
            long rowBytes = (long) n * Float.BYTES;
            float[] sums = new float[W]; // (input, row) sums of two rows for four inputs
            int r = from;
            for (; r + 2 <= to; r += 2) {
                MemorySegment d = data.asSlice(r * rowBytes, 2 * rowBytes);
                FloatVector a0 = FloatVector.zero(DOT);
                FloatVector a1 = a0;
                FloatVector b0 = a0;
                FloatVector b1 = a0;
                FloatVector c0 = a0;
                FloatVector c1 = a0;
                FloatVector e0 = a0;
                FloatVector e1 = a0;
                int i = 0;
                for (; i + W <= n; i += W) {
                    long at = i * 4L;
                    FloatVector w0 = load(d, at);
                    FloatVector w1 = load(d, at + rowBytes);
                    FloatVector x = FloatVector.fromArray(DOT, x0, i);
                    a0 = w0.fma(x, a0);
                    a1 = w1.fma(x, a1);
                    x = FloatVector.fromArray(DOT, x1, i);
                    b0 = w0.fma(x, b0);
                    b1 = w1.fma(x, b1);
                    x = FloatVector.fromArray(DOT, x2, i);
                    c0 = w0.fma(x, c0);
                    c1 = w1.fma(x, c1);
                    x = FloatVector.fromArray(DOT, x3, i);
                    e0 = w0.fma(x, e0);
                    e1 = w1.fma(x, e1);
                }
                // rowSums8, written out (see the class comment)
                FloatVector p01 = a0.add(a0.rearrange(SWAP_1)).blend(a1.add(a1.rearrange(SWAP_1)), ODD_1);
                FloatVector p23 = b0.add(b0.rearrange(SWAP_1)).blend(b1.add(b1.rearrange(SWAP_1)), ODD_1);
                FloatVector p45 = c0.add(c0.rearrange(SWAP_1)).blend(c1.add(c1.rearrange(SWAP_1)), ODD_1);
                FloatVector p67 = e0.add(e0.rearrange(SWAP_1)).blend(e1.add(e1.rearrange(SWAP_1)), ODD_1);
                FloatVector q03 = p01.add(p01.rearrange(SWAP_2)).blend(p23.add(p23.rearrange(SWAP_2)), ODD_2);
                FloatVector q47 = p45.add(p45.rearrange(SWAP_2)).blend(p67.add(p67.rearrange(SWAP_2)), ODD_2);
                q03.add(q03.rearrange(SWAP_4)).blend(q47.add(q47.rearrange(SWAP_4)), ODD_4).intoArray(sums, 0);
                for (int k = 0; k < 2; k++) {
                    long offset = (long) (r + k) * n;
                    out0[r + k] = tail(sums[k], offset, x0, i, n);
                    out1[r + k] = tail(sums[2 + k], offset, x1, i, n);
                    out2[r + k] = tail(sums[4 + k], offset, x2, i, n);
                    out3[r + k] = tail(sums[6 + k], offset, x3, i, n);
                }
            }
            for (; r < to; r++) {
                long offset = (long) r * n;
                out0[r] = dot(offset, x0, n);
                out1[r] = dot(offset, x1, n);
                out2[r] = dot(offset, x2, n);
                out3[r] = dot(offset, x3, n);
            }
        }

        /**
         * out[b + J][r] = dot(r × n, x[b + J], n) for J in [0, 8), r in [from, to): one row
         * after the other in memory order, each weight slice loaded once for all eight inputs
         * (eight accumulators, the inputs' slices from the L1 cache); the eight inputs' sums of
         * a row come out of one tree of lane sums.
         */
        private void rows1x8(float[][] x, float[][] out, int b, int from, int to, int n) {
            float[] x0 = x[b];
            float[] x1 = x[b + 1];
            float[] x2 = x[b + 2];
            float[] x3 = x[b + 3];
            float[] x4 = x[b + 4];
            float[] x5 = x[b + 5];
            float[] x6 = x[b + 6];
            float[] x7 = x[b + 7];
            long rowBytes = (long) n * Float.BYTES;
            float[] sums = new float[W]; // the row's sums for eight inputs
            MemorySegment d = data.asSlice(from * rowBytes, (to - from) * rowBytes);
            for (int r = from; r < to; r++) {
                long row = (r - from) * rowBytes;
                FloatVector a0 = FloatVector.zero(DOT);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector a4 = a0;
                FloatVector a5 = a0;
                FloatVector a6 = a0;
                FloatVector a7 = a0;
                int i = 0;
                for (; i + W <= n; i += W) {
                    FloatVector w = load(d, row + i * 4L);
                    a0 = w.fma(FloatVector.fromArray(DOT, x0, i), a0);
                    a1 = w.fma(FloatVector.fromArray(DOT, x1, i), a1);
                    a2 = w.fma(FloatVector.fromArray(DOT, x2, i), a2);
                    a3 = w.fma(FloatVector.fromArray(DOT, x3, i), a3);
                    a4 = w.fma(FloatVector.fromArray(DOT, x4, i), a4);
                    a5 = w.fma(FloatVector.fromArray(DOT, x5, i), a5);
                    a6 = w.fma(FloatVector.fromArray(DOT, x6, i), a6);
                    a7 = w.fma(FloatVector.fromArray(DOT, x7, i), a7);
                }
                // rowSums8, written out (see the class comment)
                FloatVector p01 = a0.add(a0.rearrange(SWAP_1)).blend(a1.add(a1.rearrange(SWAP_1)), ODD_1);
                FloatVector p23 = a2.add(a2.rearrange(SWAP_1)).blend(a3.add(a3.rearrange(SWAP_1)), ODD_1);
                FloatVector p45 = a4.add(a4.rearrange(SWAP_1)).blend(a5.add(a5.rearrange(SWAP_1)), ODD_1);
                FloatVector p67 = a6.add(a6.rearrange(SWAP_1)).blend(a7.add(a7.rearrange(SWAP_1)), ODD_1);
                FloatVector q03 = p01.add(p01.rearrange(SWAP_2)).blend(p23.add(p23.rearrange(SWAP_2)), ODD_2);
                FloatVector q47 = p45.add(p45.rearrange(SWAP_2)).blend(p67.add(p67.rearrange(SWAP_2)), ODD_2);
                q03.add(q03.rearrange(SWAP_4)).blend(q47.add(q47.rearrange(SWAP_4)), ODD_4).intoArray(sums, 0);
                if (i < n) {
                    for (int j = 0; j < 8; j++) {
                        sums[j] = tail(sums[j], (long) r * n, x[b + j], i, n);
                    }
                }
                out[b][r] = sums[0];
                out[b + 1][r] = sums[1];
                out[b + 2][r] = sums[2];
                out[b + 3][r] = sums[3];
                out[b + 4][r] = sums[4];
                out[b + 5][r] = sums[5];
                out[b + 6][r] = sums[6];
                out[b + 7][r] = sums[7];
            }
        }

        /**
         * Lane k of the result is the sum of the eight lanes of {@code rk}, added as
         * ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) for every k.
         */
        static FloatVector rowSums8(FloatVector r0, FloatVector r1, FloatVector r2, FloatVector r3,
                                    FloatVector r4, FloatVector r5, FloatVector r6, FloatVector r7) {
            FloatVector p01 = merge(r0, r1, SWAP_1, ODD_1);
            FloatVector p23 = merge(r2, r3, SWAP_1, ODD_1);
            FloatVector p45 = merge(r4, r5, SWAP_1, ODD_1);
            FloatVector p67 = merge(r6, r7, SWAP_1, ODD_1);
            FloatVector q0123 = merge(p01, p23, SWAP_2, ODD_2);
            FloatVector q4567 = merge(p45, p67, SWAP_2, ODD_2);
            return merge(q0123, q4567, SWAP_4, ODD_4);
        }

        /** a + a permuted, b + b permuted, lanes taken from the second where {@code fromB}. */
        private static FloatVector merge(FloatVector a, FloatVector b, VectorShuffle<Float> swap,
                                         VectorMask<Float> fromB) {
            return a.add(a.rearrange(swap)).blend(b.add(b.rearrange(swap)), fromB);
        }

        private static FloatVector load(MemorySegment d, long at) {
            return FloatVector.fromMemorySegment(DOT, d, at, ByteOrder.LITTLE_ENDIAN);
        }
    }

    /**
     * Elements with 16 bits each. A chunk of rows is unpacked one element at a time (a loop
     * the compiler vectorizes); one input runs over a row in memory order, widening the bits
     * to float lanes by integer operations as it goes.
     */
    /**
     * The types a batch multiplies through {@link DequantizedMatmul}: half precision and the
     * 32-element blocks.
     */
    abstract static sealed class Unpacked extends FloatTensor permits Half, Blocks {
        Unpacked(MemorySegment data, long size) {
            super(data, size);
        }

        /**
         * out[at + i] = this[offset + i] for i in [0, n), the same float for the same stored
         * bits every time; for block types offset and n are whole blocks.
         */
        abstract void dequantize(long offset, int n, float[] out, int at);
    }

    private abstract static sealed class Half extends Unpacked permits F16, BF16 {
        private static final VectorSpecies<Float> DOT = DequantizedMatmul.DOT;
        private static final int W = DOT.length();
        private static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class,
                VectorShape.forBitSize(DequantizedMatmul.W * 16));
        private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class,
                DequantizedMatmul.DOT.vectorShape());

        Half(MemorySegment data) {
            super(data, data.byteSize() / Short.BYTES);
        }

        /** The floats of 16-bit elements held in the low half of each int lane, exactly as {@link #get}. */
        abstract FloatVector widen(IntVector bits);

        /** Elements [i, i + W) of the row whose bits start at byte {@code base}, as float lanes. */
        private FloatVector load(long base, int i) {
            var halves = ShortVector.fromMemorySegment(SHORTS, data, base + (long) i * Short.BYTES,
                    ByteOrder.LITTLE_ENDIAN);
            var bits = (IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0);
            return widen(bits.and(0xFFFF));
        }

        /** Converts as it reads, in {@link DequantizedMatmul}'s order. */
        @Override
        final float dot(long offset, float[] x, int n) {
            FloatVector a0 = FloatVector.zero(DOT);
            FloatVector a1 = a0;
            long base = offset * Short.BYTES;
            int i = 0;
            for (int upper = n - 2 * W; i <= upper; i += 2 * W) {
                a0 = load(base, i).fma(FloatVector.fromArray(DOT, x, i), a0);
                a1 = load(base, i + W).fma(FloatVector.fromArray(DOT, x, i + W), a1);
            }
            for (int upper = n - W; i <= upper; i += W) {
                a0 = load(base, i).fma(FloatVector.fromArray(DOT, x, i), a0);
            }
            // DequantizedMatmul.laneSum, written out: inlined whole, the call would not be
            FloatVector v = a0.add(a1);
            v = v.add(v.rearrange(DequantizedMatmul.SWAP_1));
            v = v.add(v.rearrange(DequantizedMatmul.SWAP_2));
            v = v.add(v.rearrange(DequantizedMatmul.SWAP_4));
            if (W == 16) {
                v = v.add(v.rearrange(DequantizedMatmul.SWAP_8));
            }
            float sum = v.lane(0);
            for (; i < n; i++) {
                sum += get(offset + i) * x[i];
            }
            return sum;
        }


        @Override
        final void matmulRows(float[][] x, float[][] out, int batch, int from, int to, int cols) {
            DequantizedMatmul.matmulRows(this, x, out, batch, from, to, cols);
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

        @Override
        void dequantize(long offset, int n, float[] out, int at) {
            MemorySegment d = data.asSlice(offset * Short.BYTES, (long) n * Short.BYTES);
            for (int i = 0; i < n; i++) {
                out[at + i] = Float.float16ToFloat(d.getAtIndex(F16_LAYOUT, i));
            }
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

        @Override
        void dequantize(long offset, int n, float[] out, int at) {
            MemorySegment d = data.asSlice(offset * Short.BYTES, (long) n * Short.BYTES);
            for (int i = 0; i < n; i++) {
                out[at + i] = Float.intBitsToFloat((d.getAtIndex(F16_LAYOUT, i) & 0xFFFF) << 16);
            }
        }
    }

    /**
     * Blocks of 32 elements: an F16 scale, then the quants. An element is its quant times the
     * scale, exact in a float (at most 8 bits times 11), unpacked a vector at a time
     * ({@link #unpack}); one input runs over a row in memory order, unpacking as it goes.
     */
    private abstract static sealed class Blocks extends Unpacked permits Q8, Q4 {
        static final int BLOCK = 32;
        static final VectorSpecies<Float> DOT = DequantizedMatmul.DOT;
        static final int W = DOT.length();
        /** As many bytes as {@link #DOT} has floats. */
        static final VectorSpecies<Byte> QUANTS = VectorSpecies.of(byte.class, VectorShape.forBitSize(W * 8));
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

        /**
         * Elements [slice × W, +W) of the block whose quants start at byte {@code quants},
         * each its quant times {@code scale} (the block's scale in every lane).
         */
        abstract FloatVector unpack(long quants, int slice, FloatVector scale);

        @Override
        final void dequantize(long offset, int n, float[] out, int at) {
            long first = offset / BLOCK;
            for (int b = 0; b < n / BLOCK; b++) {
                long block = first + b;
                long quants = block * blockBytes + Short.BYTES;
                FloatVector scale = FloatVector.broadcast(DOT, scale(block));
                for (int j = 0; j < BLOCK / W; j++) {
                    unpack(quants, j, scale).intoArray(out, at + b * BLOCK + j * W);
                }
            }
        }

        /**
         * Converts as it reads, in {@link DequantizedMatmul}'s order (a block has an even
         * number of slices, so slice j of every block goes to accumulator j mod 2).
         */
        @Override
        final float dot(long offset, float[] x, int n) {
            FloatVector a0 = FloatVector.zero(DOT);
            FloatVector a1 = a0;
            long first = offset / BLOCK;
            for (int b = 0; b < n / BLOCK; b++) {
                long block = first + b;
                long quants = block * blockBytes + Short.BYTES;
                FloatVector scale = FloatVector.broadcast(DOT, scale(block));
                for (int j = 0; j < BLOCK / W; j += 2) {
                    int i = b * BLOCK + j * W;
                    a0 = unpack(quants, j, scale).fma(FloatVector.fromArray(DOT, x, i), a0);
                    a1 = unpack(quants, j + 1, scale).fma(FloatVector.fromArray(DOT, x, i + W), a1);
                }
            }
            return DequantizedMatmul.laneSum(a0.add(a1));
        }

        @Override
        final void matmulRows(float[][] x, float[][] out, int batch, int from, int to, int cols) {
            DequantizedMatmul.matmulRows(this, x, out, batch, from, to, cols);
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
        FloatVector unpack(long quants, int slice, FloatVector scale) {
            var q = ByteVector.fromMemorySegment(QUANTS, data, quants + (long) slice * W, ByteOrder.LITTLE_ENDIAN);
            return ((FloatVector) q.convertShape(VectorOperators.B2F, DOT, 0)).mul(scale);
        }
    }

    /** Q4_0: 16 bytes of nibble pairs per block (element i low, element 16 + i high), offset by 8. */
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
        FloatVector unpack(long quants, int slice, FloatVector scale) {
            int first = slice * W;
            var packed = ByteVector.fromMemorySegment(QUANTS, data, quants + first % 16, ByteOrder.LITTLE_ENDIAN);
            var nibbles = first < 16 ? packed.and((byte) 0x0F) : packed.lanewise(VectorOperators.LSHR, 4);
            return ((FloatVector) nibbles.sub((byte) 8).convertShape(VectorOperators.B2F, DOT, 0)).mul(scale);
        }
    }
}
