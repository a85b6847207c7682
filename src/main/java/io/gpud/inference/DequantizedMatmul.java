package io.gpud.inference;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dot products and matrix × vectors of every tensor type whose elements are not stored
 * as float32 (F16, BF16, Q8_0, Q4_0): the type unpacks its elements into floats
 * ({@link FloatTensor#dequantize}), and these kernels multiply the floats.
 *
 * <p>Contract for a type that plugs in: {@code dequantize(offset, n, out, at)} writes
 * element {@code offset + i} as a float into {@code out[at + i]} for i in [0, n), always the
 * same float for the same stored bits (a pure function of them, vectorized or not); the
 * type's {@code dot} is {@link #dot} and its {@code matmulRows} is {@link #matmulRows}. The
 * results then do not depend on the batch, the row range or the thread, bit for bit.
 * Where a block's elements are small integers times a scale, the product is exact in a
 * float (Q8_0: 8-bit quants × an F16 scale need 19 bits of the 24), so the unpacked
 * weights are the stored values themselves.
 *
 * <p>Every output is summed in one order, that of {@link FloatTensor.F32}: one 8-float
 * accumulator over the row's whole 8-float slices in order ({@code acc = w · x + acc},
 * fused), its lanes added as the tree {@code ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7))}, then
 * the remaining elements one by one ({@code sum += w · x}).
 *
 * <p>A matrix is multiplied in chunks of rows: the chunk is unpacked once into a float
 * buffer of the calling thread, sized to stay in the cache, and every input of the batch
 * runs over it, so each weight is read from memory and converted once per batch. Inputs go
 * four at a time over four rows at a time (sixteen accumulators in registers; each weight
 * slice loaded once for four inputs, each input slice once for four rows), then the
 * remaining inputs one at a time over eight rows at a time (eight independent
 * accumulators sharing each load of the input). The lane sums of eight accumulators are
 * taken together ({@link FloatTensor.F32#rowSums8}), which gives each the same tree.
 */
final class DequantizedMatmul {
    private static final VectorSpecies<Float> DOT = FloatTensor.F32.DOT;
    private static final int W = DOT.length();
    /** Floats of unpacked rows per chunk for a single input (an L1/L2-sized buffer, read once). */
    private static final int SINGLE_CHUNK_FLOATS = 8192;
    /** Floats of unpacked rows per chunk for a batch (the L2 cache, read by every input). */
    private static final int BATCH_CHUNK_FLOATS = 32768;
    private static final ThreadLocal<float[][]> BUFFER = ThreadLocal.withInitial(() -> new float[1][0]);

    private DequantizedMatmul() {
    }

    /** Σ t[offset + i] · x[i] for i in [0, n), in the order of the class comment. */
    static float dot(FloatTensor t, long offset, float[] x, int n) {
        float[] w = buffer(n);
        t.dequantize(offset, n, w, 0);
        return dot(w, 0, x, n);
    }

    /** out[b][r] = dot(t, r × cols, x[b], cols) for r in [from, to), b in [0, batch), bit for bit. */
    static void matmulRows(FloatTensor t, float[][] x, float[][] out, int batch, int from, int to, int cols) {
        int chunkFloats = batch >= 4 ? BATCH_CHUNK_FLOATS : SINGLE_CHUNK_FLOATS;
        int chunk = Math.max(8, chunkFloats / cols / 8 * 8);
        float[] w = buffer(Math.min(chunk, to - from) * cols);
        float[] acc = new float[16 * W]; // a kernel's accumulators, handed to laneSums
        for (int start = from; start < to; start += chunk) {
            int rows = Math.min(to - start, chunk);
            for (int k = 0; k < rows; k++) {
                t.dequantize((long) (start + k) * cols, cols, w, k * cols);
            }
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                int k = 0;
                for (; k + 4 <= rows; k += 4) {
                    rows4x4(w, k, x, b, out, start + k, cols, acc);
                }
                for (; k < rows; k++) {
                    for (int j = b; j < b + 4; j++) {
                        out[j][start + k] = dot(w, k * cols, x[j], cols);
                    }
                }
            }
            for (; b < batch; b++) {
                int k = 0;
                for (; k + 8 <= rows; k += 8) {
                    rows8x1(w, k, x[b], out[b], start + k, cols, acc);
                }
                for (; k < rows; k++) {
                    out[b][start + k] = dot(w, k * cols, x[b], cols);
                }
            }
        }
    }

    private static float[] buffer(int floats) {
        float[][] holder = BUFFER.get();
        if (holder[0].length < floats) {
            holder[0] = new float[floats];
        }
        return holder[0];
    }

    /**
     * out[at + k] = the lanes of acc[from + k × 8, +8) summed as a tree, for k in [0, 8). The
     * kernels store their accumulators and call this instead of passing them as vectors: a
     * call that the compiler leaves out of line would box vector arguments, and boxing a
     * loop's accumulators puts an allocation in every pass of the loop.
     */
    private static void laneSums(float[] acc, int from, float[] out, int at) {
        FloatTensor.F32.rowSums8(FloatVector.fromArray(DOT, acc, from), FloatVector.fromArray(DOT, acc, from + W),
                FloatVector.fromArray(DOT, acc, from + 2 * W), FloatVector.fromArray(DOT, acc, from + 3 * W),
                FloatVector.fromArray(DOT, acc, from + 4 * W), FloatVector.fromArray(DOT, acc, from + 5 * W),
                FloatVector.fromArray(DOT, acc, from + 6 * W), FloatVector.fromArray(DOT, acc, from + 7 * W))
                .intoArray(out, at);
    }

    /** Σ w[at + i] · x[i] for i in [0, n), in the order of the class comment. */
    private static float dot(float[] w, int at, float[] x, int n) {
        FloatVector a = FloatVector.zero(DOT);
        int i = 0;
        for (; i + W <= n; i += W) {
            a = FloatVector.fromArray(DOT, w, at + i).fma(FloatVector.fromArray(DOT, x, i), a);
        }
        return tail(FloatTensor.F32.rowSums8(a, a, a, a, a, a, a, a).lane(0), w, at, x, i, n);
    }

    /** sum + Σ w[at + j] · x[j] for j in [from, n), in order. */
    private static float tail(float sum, float[] w, int at, float[] x, int from, int n) {
        for (int j = from; j < n; j++) {
            sum += w[at + j] * x[j];
        }
        return sum;
    }

    /**
     * out[r + k] = dot(w, (row + k) × n, x, n) for k in [0, 8): eight unpacked rows from
     * {@code row} of the buffer, sharing each load of x.
     */
    private static void rows8x1(float[] w, int row, float[] x, float[] out, int r, int n, float[] acc) {
        int at = row * n;
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
            int k = at + i;
            a0 = FloatVector.fromArray(DOT, w, k).fma(xi, a0);
            a1 = FloatVector.fromArray(DOT, w, k + n).fma(xi, a1);
            a2 = FloatVector.fromArray(DOT, w, k + 2 * n).fma(xi, a2);
            a3 = FloatVector.fromArray(DOT, w, k + 3 * n).fma(xi, a3);
            a4 = FloatVector.fromArray(DOT, w, k + 4 * n).fma(xi, a4);
            a5 = FloatVector.fromArray(DOT, w, k + 5 * n).fma(xi, a5);
            a6 = FloatVector.fromArray(DOT, w, k + 6 * n).fma(xi, a6);
            a7 = FloatVector.fromArray(DOT, w, k + 7 * n).fma(xi, a7);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, W);
        a2.intoArray(acc, 2 * W);
        a3.intoArray(acc, 3 * W);
        a4.intoArray(acc, 4 * W);
        a5.intoArray(acc, 5 * W);
        a6.intoArray(acc, 6 * W);
        a7.intoArray(acc, 7 * W);
        laneSums(acc, 0, out, r);
        if (i < n) {
            for (int k = 0; k < 8; k++) {
                out[r + k] = tail(out[r + k], w, at + k * n, x, i, n);
            }
        }
    }

    /**
     * out[b + J][r + K] = dot(w, (row + K) × n, x[b + J], n) for J, K in [0, 4): four
     * unpacked rows from {@code row} of the buffer times four inputs, sixteen accumulators.
     */
    private static void rows4x4(float[] w, int row, float[][] x, int b, float[][] out, int r, int n,
                                float[] acc) {
        float[] x0 = x[b];
        float[] x1 = x[b + 1];
        float[] x2 = x[b + 2];
        float[] x3 = x[b + 3];
        int at = row * n;
        FloatVector a00 = FloatVector.zero(DOT);
        FloatVector a01 = a00;
        FloatVector a02 = a00;
        FloatVector a03 = a00;
        FloatVector a10 = a00;
        FloatVector a11 = a00;
        FloatVector a12 = a00;
        FloatVector a13 = a00;
        FloatVector a20 = a00;
        FloatVector a21 = a00;
        FloatVector a22 = a00;
        FloatVector a23 = a00;
        FloatVector a30 = a00;
        FloatVector a31 = a00;
        FloatVector a32 = a00;
        FloatVector a33 = a00;
        int i = 0;
        for (; i + W <= n; i += W) {
            int k = at + i;
            FloatVector w0 = FloatVector.fromArray(DOT, w, k);
            FloatVector w1 = FloatVector.fromArray(DOT, w, k + n);
            FloatVector w2 = FloatVector.fromArray(DOT, w, k + 2 * n);
            FloatVector w3 = FloatVector.fromArray(DOT, w, k + 3 * n);
            FloatVector xi = FloatVector.fromArray(DOT, x0, i);
            a00 = w0.fma(xi, a00);
            a10 = w1.fma(xi, a10);
            a20 = w2.fma(xi, a20);
            a30 = w3.fma(xi, a30);
            xi = FloatVector.fromArray(DOT, x1, i);
            a01 = w0.fma(xi, a01);
            a11 = w1.fma(xi, a11);
            a21 = w2.fma(xi, a21);
            a31 = w3.fma(xi, a31);
            xi = FloatVector.fromArray(DOT, x2, i);
            a02 = w0.fma(xi, a02);
            a12 = w1.fma(xi, a12);
            a22 = w2.fma(xi, a22);
            a32 = w3.fma(xi, a32);
            xi = FloatVector.fromArray(DOT, x3, i);
            a03 = w0.fma(xi, a03);
            a13 = w1.fma(xi, a13);
            a23 = w2.fma(xi, a23);
            a33 = w3.fma(xi, a33);
        }
        a00.intoArray(acc, 0);
        a01.intoArray(acc, W);
        a02.intoArray(acc, 2 * W);
        a03.intoArray(acc, 3 * W);
        a10.intoArray(acc, 4 * W);
        a11.intoArray(acc, 5 * W);
        a12.intoArray(acc, 6 * W);
        a13.intoArray(acc, 7 * W);
        a20.intoArray(acc, 8 * W);
        a21.intoArray(acc, 9 * W);
        a22.intoArray(acc, 10 * W);
        a23.intoArray(acc, 11 * W);
        a30.intoArray(acc, 12 * W);
        a31.intoArray(acc, 13 * W);
        a32.intoArray(acc, 14 * W);
        a33.intoArray(acc, 15 * W);
        float[] sums = new float[2 * W]; // lane 4K + J: row K, input J
        laneSums(acc, 0, sums, 0);
        laneSums(acc, 8 * W, sums, W);
        for (int k = 0; k < 4; k++) {
            for (int j = 0; j < 4; j++) {
                float sum = sums[4 * k + j];
                out[b + j][r + k] = i < n ? tail(sum, w, at + k * n, x[b + j], i, n) : sum;
            }
        }
    }
}
