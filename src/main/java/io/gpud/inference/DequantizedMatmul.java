package io.gpud.inference;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix × batch for the tensor types whose elements are not stored as float32 (F16, BF16,
 * Q8_0, Q4_0): a chunk of rows is unpacked into floats once ({@link FloatTensor#dequantize}),
 * and every input of the batch runs over the floats, so a weight is read from memory and
 * converted once per batch instead of once per input. A single input (decode) goes through
 * the type's own {@code dot}, which converts as it reads and never writes the floats out.
 *
 * <p>Both give every output bit for bit, because both sum in one order, {@link #dot}'s:
 * <ol>
 * <li>the row's whole slices of {@link #W} elements are multiplied with x's and added
 *     ({@code acc = w · x + acc}, fused) into two accumulators: even slices into the first,
 *     odd slices into the second (two independent chains of additions, so one row keeps the
 *     vector unit busy);
 * <li>the two accumulators are added lane by lane, and the lanes summed as a tree
 *     ({@link #laneSum});
 * <li>the remaining elements are added one by one ({@code sum += w · x}).
 * </ol>
 * The weights are the same floats on both paths: a pure function of the stored bits (for
 * Q8_0 and Q4_0 the quant times the F16 scale, a product that is exact in a float).
 *
 * <p>Contract for a type that plugs in: {@code dequantize(offset, n, out, at)} writes the
 * floats of elements [offset, offset + n); {@code dot} sums the same floats in the order
 * above; {@code matmulRows} is {@link #matmulRows}. Results then do not depend on the batch,
 * the row range or the thread.
 *
 * <p>The batch kernel ({@link #rows2x4}) runs two rows × four inputs at a time: sixteen
 * accumulators in registers, each weight slice loaded once for four inputs and each input
 * slice once for two rows. The chunk of unpacked rows stays in the L2 cache while every
 * group of four inputs runs over it; the one to three inputs left over take one
 * {@link #dot} per row from the same floats.
 */
final class DequantizedMatmul {
    /** Sixteen floats where the hardware has 512-bit vectors, else eight. */
    static final VectorSpecies<Float> DOT = FloatTensor.FLOATS.length() >= 16 ? FloatVector.SPECIES_512
            : FloatVector.SPECIES_256;
    static final int W = DOT.length();
    /** Lane i ↔ lane i xor 2^k: the steps of {@link #laneSum} (the last only with sixteen lanes). */
    static final VectorShuffle<Float> SWAP_1 = VectorShuffle.fromOp(DOT, i -> i ^ 1);
    static final VectorShuffle<Float> SWAP_2 = VectorShuffle.fromOp(DOT, i -> i ^ 2);
    static final VectorShuffle<Float> SWAP_4 = VectorShuffle.fromOp(DOT, i -> i ^ 4);
    static final VectorShuffle<Float> SWAP_8 = VectorShuffle.fromOp(DOT, i -> (i ^ 8) % W);
    /** Inputs from which a batch goes through unpacked floats (below, each input converts the rows itself). */
    private static final int MIN_BATCH = 4;
    /** Floats of unpacked rows per chunk (in the L2 cache while every input of a batch runs over them). */
    private static final int CHUNK_FLOATS = 32768;
    private static final ThreadLocal<float[][]> BUFFER = ThreadLocal.withInitial(() -> new float[1][0]);

    private DequantizedMatmul() {
    }

    /** out[b][r] = t.dot(r × cols, x[b], cols) for r in [from, to), b in [0, batch), bit for bit. */
    static void matmulRows(FloatTensor t, float[][] x, float[][] out, int batch, int from, int to, int cols) {
        if (batch < MIN_BATCH) {
            rowByRow(t, x, out, batch, from, to, cols);
            return;
        }
        int chunk = Math.max(2, CHUNK_FLOATS / cols / 2 * 2);
        float[] w = buffer(Math.min(chunk, to - from) * cols);
        for (int start = from; start < to; start += chunk) {
            int rows = Math.min(to - start, chunk);
            for (int k = 0; k < rows; k++) {
                t.dequantize((long) (start + k) * cols, cols, w, k * cols);
            }
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                int k = 0;
                for (; k + 2 <= rows; k += 2) {
                    rows2x4(w, k, x, b, out, start + k, cols);
                }
                if (k < rows) {
                    for (int j = b; j < b + 4; j++) {
                        out[j][start + k] = dot(w, k * cols, x[j], cols);
                    }
                }
            }
            for (; b < batch; b++) {
                for (int k = 0; k < rows; k++) {
                    out[b][start + k] = dot(w, k * cols, x[b], cols);
                }
            }
        }
    }

    /**
     * out[b][r] = t.dot(r × cols, x[b], cols): a method of its own, small enough that the
     * compiler inlines the type's dot whole into it (inlined into the large batch method, a dot
     * ran at half speed).
     */
    private static void rowByRow(FloatTensor t, float[][] x, float[][] out, int batch, int from, int to, int cols) {
        for (int r = from; r < to; r++) {
            long offset = (long) r * cols;
            for (int b = 0; b < batch; b++) {
                out[b][r] = t.dot(offset, x[b], cols);
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
     * The lanes of {@code v} summed as a tree: lane i plus lane i xor 1, then of those sums
     * lane i plus lane i xor 2, and so on, for eight lanes
     * {@code ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7))}. Lane-wise adds of permuted copies, the
     * same in compiled and interpreted code (a vector's own reduction may add in another
     * order once the compiler replaces it). Called on a sum of accumulators, never on a
     * loop's accumulator itself: if the compiler left the call out of line it would box the
     * vector argument, and boxing a loop's accumulator puts an allocation in every pass.
     */
    static float laneSum(FloatVector v) {
        v = v.add(v.rearrange(SWAP_1));
        v = v.add(v.rearrange(SWAP_2));
        v = v.add(v.rearrange(SWAP_4));
        if (W == 16) {
            v = v.add(v.rearrange(SWAP_8));
        }
        return v.lane(0);
    }

    /** Σ w[at + i] · x[i] for i in [0, n), in the order of the class comment. */
    static float dot(float[] w, int at, float[] x, int n) {
        FloatVector a0 = FloatVector.zero(DOT);
        FloatVector a1 = a0;
        int i = 0;
        for (; i + 2 * W <= n; i += 2 * W) {
            a0 = FloatVector.fromArray(DOT, w, at + i).fma(FloatVector.fromArray(DOT, x, i), a0);
            a1 = FloatVector.fromArray(DOT, w, at + i + W).fma(FloatVector.fromArray(DOT, x, i + W), a1);
        }
        if (i + W <= n) {
            a0 = FloatVector.fromArray(DOT, w, at + i).fma(FloatVector.fromArray(DOT, x, i), a0);
            i += W;
        }
        float sum = laneSum(a0.add(a1));
        for (; i < n; i++) {
            sum += w[at + i] * x[i];
        }
        return sum;
    }

    /**
     * out[b + J][r + K] = dot(w, (row + K) × n, x[b + J], n) for J in [0, 4), K in [0, 2):
     * two unpacked rows from {@code row} of the buffer times four inputs, each output with its
     * even and odd accumulator.
     */
    private static void rows2x4(float[] w, int row, float[][] x, int b, float[][] out, int r, int n) {
        float[] x0 = x[b];
        float[] x1 = x[b + 1];
        float[] x2 = x[b + 2];
        float[] x3 = x[b + 3];
        int at0 = row * n;
        int at1 = at0 + n;
        FloatVector e00 = FloatVector.zero(DOT); // e: even slices, o: odd; row K, input J
        FloatVector o00 = e00;
        FloatVector e01 = e00;
        FloatVector o01 = e00;
        FloatVector e02 = e00;
        FloatVector o02 = e00;
        FloatVector e03 = e00;
        FloatVector o03 = e00;
        FloatVector e10 = e00;
        FloatVector o10 = e00;
        FloatVector e11 = e00;
        FloatVector o11 = e00;
        FloatVector e12 = e00;
        FloatVector o12 = e00;
        FloatVector e13 = e00;
        FloatVector o13 = e00;
        int i = 0;
        for (; i + 2 * W <= n; i += 2 * W) {
            FloatVector w0e = FloatVector.fromArray(DOT, w, at0 + i);
            FloatVector w0o = FloatVector.fromArray(DOT, w, at0 + i + W);
            FloatVector w1e = FloatVector.fromArray(DOT, w, at1 + i);
            FloatVector w1o = FloatVector.fromArray(DOT, w, at1 + i + W);
            FloatVector xe = FloatVector.fromArray(DOT, x0, i);
            FloatVector xo = FloatVector.fromArray(DOT, x0, i + W);
            e00 = w0e.fma(xe, e00);
            o00 = w0o.fma(xo, o00);
            e10 = w1e.fma(xe, e10);
            o10 = w1o.fma(xo, o10);
            xe = FloatVector.fromArray(DOT, x1, i);
            xo = FloatVector.fromArray(DOT, x1, i + W);
            e01 = w0e.fma(xe, e01);
            o01 = w0o.fma(xo, o01);
            e11 = w1e.fma(xe, e11);
            o11 = w1o.fma(xo, o11);
            xe = FloatVector.fromArray(DOT, x2, i);
            xo = FloatVector.fromArray(DOT, x2, i + W);
            e02 = w0e.fma(xe, e02);
            o02 = w0o.fma(xo, o02);
            e12 = w1e.fma(xe, e12);
            o12 = w1o.fma(xo, o12);
            xe = FloatVector.fromArray(DOT, x3, i);
            xo = FloatVector.fromArray(DOT, x3, i + W);
            e03 = w0e.fma(xe, e03);
            o03 = w0o.fma(xo, o03);
            e13 = w1e.fma(xe, e13);
            o13 = w1o.fma(xo, o13);
        }
        if (i + W <= n) { // one slice left: into the even accumulators
            FloatVector w0 = FloatVector.fromArray(DOT, w, at0 + i);
            FloatVector w1 = FloatVector.fromArray(DOT, w, at1 + i);
            FloatVector xi = FloatVector.fromArray(DOT, x0, i);
            e00 = w0.fma(xi, e00);
            e10 = w1.fma(xi, e10);
            xi = FloatVector.fromArray(DOT, x1, i);
            e01 = w0.fma(xi, e01);
            e11 = w1.fma(xi, e11);
            xi = FloatVector.fromArray(DOT, x2, i);
            e02 = w0.fma(xi, e02);
            e12 = w1.fma(xi, e12);
            xi = FloatVector.fromArray(DOT, x3, i);
            e03 = w0.fma(xi, e03);
            e13 = w1.fma(xi, e13);
            i += W;
        }
        float[] sums = { // input J, row K at 2J + K
            laneSum(e00.add(o00)), laneSum(e10.add(o10)), laneSum(e01.add(o01)), laneSum(e11.add(o11)),
            laneSum(e02.add(o02)), laneSum(e12.add(o12)), laneSum(e03.add(o03)), laneSum(e13.add(o13))
        };
        for (int j = 0; j < 4; j++) {
            float[] xj = x[b + j];
            for (int k = 0; k < 2; k++) {
                int at = at0 + k * n;
                float sum = sums[2 * j + k];
                for (int t = i; t < n; t++) {
                    sum += w[at + t] * xj[t];
                }
                out[b + j][r + k] = sum;
            }
        }
    }
}
