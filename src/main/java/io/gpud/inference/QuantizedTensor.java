package io.gpud.inference;

import io.gpud.model.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The quantized types of llama.cpp's presets beyond Q8_0 and Q4_0: Q4_1, Q5_0, Q5_1, the
 * K-quants Q2_K … Q6_K, IQ4_NL and IQ4_XS (layouts in {@link GgmlType}).
 *
 * <p>Each type says two things: how to compute one element ({@link #element}, scalar, with
 * exactly the float32 operations of ggml's dequantization, so {@link #get} equals ggml's
 * value bit for bit), and how to write a whole block of elements into a float array with
 * vector operations ({@link #dequantize}), which performs those same operations lane by lane
 * and so writes the same values. The dot product is then one algorithm for every type: a row
 * is dequantized {@link #CHUNK} elements at a time into a scratch array that stays in the L1
 * cache, and each chunk is multiplied with the activations by {@link #dotFloats} (four
 * vector accumulators, their lanes summed in a fixed order); the chunks' sums are added in
 * order. A batch dequantizes each chunk once and runs every input over it
 * ({@link #matmulRows}); since an input's sum is built from the same chunk sums in the same
 * order, the result is the one {@link #dot} gives, bit for bit, whatever the batch.
 *
 * <p>Why dequantize into floats rather than multiply integers: ggml quantizes the activations
 * to 8 bits and uses integer dot products (AVX-VNNI {@code vpdpbusd}), which the Vector API
 * does not offer; widening 4- or 6-bit quants to floats costs a few operations per lane and
 * keeps the activations exact. The scratch round trip (a store and a load per lane, both in
 * the L1 cache) keeps the per-type code to the bit unpacking alone.
 *
 * <p>Vectors run over 16-element pieces (the smallest sub-block with its own scale), so the
 * vector path needs a float vector of at most 16 lanes that divides 16; on other shapes
 * (none of today's x86 or ARM NEON machines) blocks are dequantized element by element.
 */
abstract sealed class QuantizedTensor extends FloatTensor permits QuantizedTensor.Q4_1, QuantizedTensor.Q5_0,
        QuantizedTensor.Q5_1, QuantizedTensor.Q2K, QuantizedTensor.Q3K, QuantizedTensor.Q5K, QuantizedTensor.InRegister,
        QuantizedTensor.IQ4NL, QuantizedTensor.IQ4XS {
    /** Elements dequantized at a time: whole blocks of every type, 4 KiB of floats. */
    static final int CHUNK = 1024;
    private static final int LANES = FLOATS.length();
    /** Bytes and ints with as many lanes as {@link #FLOATS}. */
    static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
    static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    private static final boolean VECTORIZED = LANES <= 16 && 16 % LANES == 0;
    private static final VectorSpecies<Byte> TABLE_BYTES = ByteVector.SPECIES_128;
    /** IQ4_NL's and IQ4_XS's 16 levels, indexed by a nibble. */
    private static final byte[] IQ4_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final ByteVector IQ4_TABLE = ByteVector.fromArray(TABLE_BYTES, IQ4_LEVELS, 0);
    /** 0, 1, 2, … in int lanes: the bit of a Q5 high-bit word that each lane takes. */
    private static final IntVector LANE_INDEX = IntVector.zero(INTS).addIndex(1);

    final GgmlType type;
    final int blockSize;
    final int blockBytes;

    private QuantizedTensor(GgmlType type, MemorySegment data) {
        super(data, data.byteSize() / type.bytesPerBlock() * type.blockSize());
        this.type = type;
        this.blockSize = type.blockSize();
        this.blockBytes = type.bytesPerBlock();
    }

    /** A tensor of quantized {@code type} over {@code data}, or null when the type is not one of these. */
    static QuantizedTensor of(GgmlType type, MemorySegment data) {
        return switch (type) {
            case Q4_1 -> new Q4_1(data);
            case Q5_0 -> new Q5_0(data);
            case Q5_1 -> new Q5_1(data);
            case Q2_K -> new Q2K(data);
            case Q3_K -> new Q3K(data);
            case Q4_K -> new Q4K(data);
            case Q5_K -> new Q5K(data);
            case Q6_K -> new Q6K(data);
            case IQ4_NL -> new IQ4NL(data);
            case IQ4_XS -> new IQ4XS(data);
            default -> null;
        };
    }

    /** Element {@code i} of the block starting at byte {@code at}, as ggml computes it. */
    abstract float element(long at, int i);

    /**
     * Writes the elements of the block starting at byte {@code at} to out[o, o + block size),
     * each equal to {@link #element}; only called when the vector path applies.
     */
    abstract void dequantize(long at, float[] out, int o);

    @Override
    final float get(long index) {
        return element(index / blockSize * blockBytes, (int) (index % blockSize));
    }

    @Override
    float dot(long offset, float[] x, int n) {
        float[] w = new float[Math.min(n, CHUNK) + LANES];
        float sum = 0;
        for (int from = 0; from < n; from += CHUNK) {
            int len = Math.min(CHUNK, n - from);
            dequantizeRange(offset + from, len, w);
            sum += dotFloats(w, x, from, len);
        }
        return sum;
    }

    /** Each row dequantized once per chunk for the whole batch; see the class comment. */
    @Override
    void matmulRows(float[][] x, float[][] out, int batch, int from, int to, int cols) {
        float[] w = new float[Math.min(cols, CHUNK) + LANES];
        for (int r = from; r < to; r++) {
            long offset = (long) r * cols;
            for (int b = 0; b < batch; b++) {
                out[b][r] = 0;
            }
            for (int start = 0; start < cols; start += CHUNK) {
                int len = Math.min(CHUNK, cols - start);
                dequantizeRange(offset + start, len, w);
                for (int b = 0; b < batch; b++) {
                    out[b][r] += dotFloats(w, x[b], start, len);
                }
            }
        }
    }

    /** w[0, n) = elements [first, first + n), whole blocks. */
    private void dequantizeRange(long first, int n, float[] w) {
        if (!VECTORIZED) {
            for (int i = 0; i < n; i++) {
                w[i] = get(first + i);
            }
            return;
        }
        long at = first / blockSize * blockBytes;
        for (int o = 0; o < n; o += blockSize, at += blockBytes) {
            dequantize(at, w, o);
        }
    }

    /**
     * Σ w[i] · x[from + i] for i in [0, n): four accumulators over whole vectors, one for
     * the remaining vectors, the accumulators added lanewise as (a0 + a1) + (a2 + a3), their
     * lanes summed in order (through w[n, n + lanes), which the caller leaves free), then any
     * elements left over added one by one.
     */
    static float dotFloats(float[] w, float[] x, int from, int n) {
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            a0 = FloatVector.fromArray(FLOATS, w, i).fma(FloatVector.fromArray(FLOATS, x, from + i), a0);
            a1 = FloatVector.fromArray(FLOATS, w, i + LANES).fma(FloatVector.fromArray(FLOATS, x, from + i + LANES), a1);
            a2 = FloatVector.fromArray(FLOATS, w, i + 2 * LANES)
                    .fma(FloatVector.fromArray(FLOATS, x, from + i + 2 * LANES), a2);
            a3 = FloatVector.fromArray(FLOATS, w, i + 3 * LANES)
                    .fma(FloatVector.fromArray(FLOATS, x, from + i + 3 * LANES), a3);
        }
        for (; i + LANES <= n; i += LANES) {
            a0 = FloatVector.fromArray(FLOATS, w, i).fma(FloatVector.fromArray(FLOATS, x, from + i), a0);
        }
        float tail = 0;
        for (int j = i; j < n; j++) {
            tail += w[j] * x[from + j];
        }
        a0.add(a1).add(a2.add(a3)).intoArray(w, n);
        float sum = 0;
        for (int lane = 0; lane < LANES; lane++) {
            sum += w[n + lane];
        }
        return sum + tail;
    }

    final float half(long at) {
        return Float.float16ToFloat(data.get(F16_LAYOUT, at));
    }

    final int u8(long at) {
        return data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /** {@link FLOATS}-many bytes starting at byte {@code at}. */
    final ByteVector bytes(long at) {
        return ByteVector.fromMemorySegment(BYTES, data, at, ByteOrder.LITTLE_ENDIAN);
    }

    static FloatVector toFloats(ByteVector q) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, FLOATS, 0);
    }

    static ByteVector low(ByteVector packed) {
        return packed.and((byte) 0x0F);
    }

    static ByteVector high(ByteVector packed) {
        return packed.lanewise(VectorOperators.LSHR, 4);
    }

    /**
     * Bit {@code bit} of each byte as bit 4 (0 or 16): the fifth bit of Q5_K's quants.
     */
    static ByteVector fifthBit(ByteVector bits, int bit) {
        return bits.lanewise(VectorOperators.LSHR, bit).and((byte) 1).lanewise(VectorOperators.LSHL, 4);
    }

    /**
     * Q5_0's and Q5_1's quants for elements [first, first + lanes) of a block, as ints: the
     * nibbles with bit (first + lane) of the high-bit word {@code highBits} as bit 4.
     */
    static IntVector q5(ByteVector nibbles, int highBits, int first) {
        IntVector bit4 = IntVector.broadcast(INTS, highBits).lanewise(VectorOperators.LSHR, LANE_INDEX.add(first))
                .and(1).lanewise(VectorOperators.LSHL, 4);
        return ((IntVector) nibbles.convertShape(VectorOperators.B2I, INTS, 0)).or(bit4);
    }

    /** Q4_K's and Q5_K's 6-bit scale (0) or minimum (1) of sub-block j, from the 12 bytes at {@code at}. */
    final int scaleOrMin(long at, int j, int which) {
        if (j < 4) {
            return u8(at + j + 4L * which) & 63;
        }
        int packed = u8(at + j + 4);
        int lowBits = which == 0 ? packed & 0x0F : packed >>> 4;
        return lowBits | (u8(at + j - 4 + 4L * which) >>> 6) << 4;
    }

    /**
     * Writes 32 bytes of nibbles at {@code at} as two sub-blocks of 32 elements:
     * out[o + l] = d1 × low nibble − m1 and out[o + 32 + l] = d2 × high nibble − m2.
     */
    final void nibbles32(long at, float[] out, int o, float d1, float m1, float d2, float m2) {
        for (int l = 0; l < 32; l += LANES) {
            ByteVector packed = bytes(at + l);
            toFloats(low(packed)).mul(d1).sub(m1).intoArray(out, o + l);
            toFloats(high(packed)).mul(d2).sub(m2).intoArray(out, o + 32 + l);
        }
    }

    /**
     * Writes 16 bytes of nibbles at {@code at} as 32 IQ4 elements: out[o + l] = d × level of
     * the low nibble of byte l, out[o + 16 + l] = d × level of its high nibble.
     */
    final void iq4(long at, float[] out, int o, float d) {
        ByteVector packed = ByteVector.fromMemorySegment(TABLE_BYTES, data, at, ByteOrder.LITTLE_ENDIAN);
        ByteVector lows = low(packed).selectFrom(IQ4_TABLE);
        ByteVector highs = high(packed).selectFrom(IQ4_TABLE);
        for (int part = 0; part < 16 / LANES; part++) {
            ((FloatVector) lows.convertShape(VectorOperators.B2F, FLOATS, part)).mul(d).intoArray(out, o + part * LANES);
            ((FloatVector) highs.convertShape(VectorOperators.B2F, FLOATS, part)).mul(d)
                    .intoArray(out, o + 16 + part * LANES);
        }
    }

    /** IQ4 level of nibble {@code i % 32 < 16 ? low : high} of byte {@code i % 16} at {@code at}. */
    final int iq4Level(long at, int i) {
        int packed = u8(at + i % 16);
        return IQ4_LEVELS[i < 16 ? packed & 0x0F : packed >>> 4];
    }

    /** Q4_1: F16 d, F16 m, 16 bytes of nibbles; d × q + m. */
    static final class Q4_1 extends QuantizedTensor {
        Q4_1(MemorySegment data) {
            super(GgmlType.Q4_1, data);
        }

        @Override
        float element(long at, int i) {
            int packed = u8(at + 4 + i % 16);
            return half(at) * (i < 16 ? packed & 0x0F : packed >>> 4) + half(at + 2);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at);
            float m = half(at + 2);
            for (int l = 0; l < 16; l += LANES) {
                ByteVector packed = bytes(at + 4 + l);
                toFloats(low(packed)).mul(d).add(m).intoArray(out, o + l);
                toFloats(high(packed)).mul(d).add(m).intoArray(out, o + 16 + l);
            }
        }
    }

    /** Q5_0: F16 d, 32 high bits, 16 bytes of nibbles; d × (q − 16). */
    static final class Q5_0 extends QuantizedTensor {
        Q5_0(MemorySegment data) {
            super(GgmlType.Q5_0, data);
        }

        @Override
        float element(long at, int i) {
            return half(at) * (fiveBits(this, at + 2, i) - 16);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at);
            int highBits = data.get(U32_LAYOUT, at + 2);
            for (int l = 0; l < 16; l += LANES) {
                ByteVector packed = bytes(at + 6 + l);
                ((FloatVector) q5(low(packed), highBits, l).sub(16).convert(VectorOperators.I2F, 0))
                        .mul(d).intoArray(out, o + l);
                ((FloatVector) q5(high(packed), highBits, 16 + l).sub(16).convert(VectorOperators.I2F, 0))
                        .mul(d).intoArray(out, o + 16 + l);
            }
        }
    }

    /** Q5_1: F16 d, F16 m, 32 high bits, 16 bytes of nibbles; d × q + m. */
    static final class Q5_1 extends QuantizedTensor {
        Q5_1(MemorySegment data) {
            super(GgmlType.Q5_1, data);
        }

        @Override
        float element(long at, int i) {
            return half(at) * fiveBits(this, at + 4, i) + half(at + 2);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at);
            float m = half(at + 2);
            int highBits = data.get(U32_LAYOUT, at + 4);
            for (int l = 0; l < 16; l += LANES) {
                ByteVector packed = bytes(at + 8 + l);
                ((FloatVector) q5(low(packed), highBits, l).convert(VectorOperators.I2F, 0))
                        .mul(d).add(m).intoArray(out, o + l);
                ((FloatVector) q5(high(packed), highBits, 16 + l).convert(VectorOperators.I2F, 0))
                        .mul(d).add(m).intoArray(out, o + 16 + l);
            }
        }
    }

    private static final ValueLayout.OfInt U32_LAYOUT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Element i's 5-bit quant of a Q5_0/Q5_1 block whose high-bit word is at {@code at}, nibbles after it. */
    private static int fiveBits(QuantizedTensor t, long at, int i) {
        int packed = t.u8(at + 4 + i % 16);
        int nibble = i < 16 ? packed & 0x0F : packed >>> 4;
        return nibble | (t.data.get(U32_LAYOUT, at) >>> i & 1) << 4;
    }

    /** Q2_K: 16 scale/min bytes, 64 bytes of 2-bit quants, F16 d, F16 dmin. */
    static final class Q2K extends QuantizedTensor {
        Q2K(MemorySegment data) {
            super(GgmlType.Q2_K, data);
        }

        @Override
        float element(long at, int i) {
            int sm = u8(at + i / 16);
            int q = u8(at + 16 + 32 * (i / 128) + i % 32) >>> (2 * (i % 128 / 32)) & 3;
            return half(at + 80) * (sm & 0x0F) * q - half(at + 82) * (sm >>> 4);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at + 80);
            float dmin = half(at + 82);
            for (int sub = 0; sub < 16; sub++) { // 16 elements each
                int sm = u8(at + sub);
                float dl = d * (sm & 0x0F);
                float ml = dmin * (sm >>> 4);
                int shift = 2 * (sub % 8 / 2);
                long quants = at + 16 + 32 * (sub / 8) + 16 * (sub % 2);
                for (int l = 0; l < 16; l += LANES) {
                    ByteVector q = bytes(quants + l).lanewise(VectorOperators.LSHR, shift).and((byte) 3);
                    toFloats(q).mul(dl).sub(ml).intoArray(out, o + 16 * sub + l);
                }
            }
        }
    }

    /** Q3_K: 32 bytes of high bits, 64 bytes of 2-bit quants, 12 bytes of 6-bit scales, F16 d. */
    static final class Q3K extends QuantizedTensor {
        Q3K(MemorySegment data) {
            super(GgmlType.Q3_K, data);
        }

        /** Scale k, offset by 32: low nibble from byte k mod 8, top two bits from byte 8 + k mod 4. */
        private int scale(long at, int k) {
            int lowBits = u8(at + 96 + k % 8) >>> (4 * (k / 8)) & 0x0F;
            int highBits = u8(at + 104 + k % 4) >>> (2 * (k / 4)) & 3;
            return (lowBits | highBits << 4) - 32;
        }

        @Override
        float element(long at, int i) {
            int group = i / 32; // 4 × half + shift
            int q2 = u8(at + 32 + 32 * (i / 128) + i % 32) >>> (2 * (group % 4)) & 3;
            int highBit = u8(at + i % 32) >>> group & 1;
            return half(at + 108) * scale(at, i / 16) * (q2 - (highBit == 0 ? 4 : 0));
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at + 108);
            for (int sub = 0; sub < 16; sub++) {
                float dl = d * scale(at, sub);
                int group = sub / 2;
                int shift = 2 * (group % 4);
                long quants = at + 32 + 32 * (sub / 8) + 16 * (sub % 2);
                long highBits = at + 16 * (sub % 2);
                for (int l = 0; l < 16; l += LANES) {
                    ByteVector q2 = bytes(quants + l).lanewise(VectorOperators.LSHR, shift).and((byte) 3);
                    ByteVector minus4 = bytes(highBits + l).lanewise(VectorOperators.LSHR, group).and((byte) 1)
                            .lanewise(VectorOperators.XOR, (byte) 1).lanewise(VectorOperators.LSHL, 2);
                    toFloats(q2.sub(minus4)).mul(dl).intoArray(out, o + 16 * sub + l);
                }
            }
        }
    }

    /**
     * The types of Q4_K_M files, multiplied in registers: each piece of {@code LANES} weights
     * is widened from its bits into a float vector and multiplied with the activations at
     * once, with no scratch round trip. Every output is computed the same way: each piece
     * goes by a fused multiply-add into one of a few vector accumulators, in the fixed order
     * of the type's loop (Q4_K: two, alternating; Q6_K: four, one per quarter of 128
     * elements), the accumulators are added in a fixed tree and their lanes summed in order
     * ({@link #total}). Fewer vector operations per method keep the compiler within its
     * budget for inlining them; past it, vectors are boxed and a row costs several times
     * more. A batch runs
     * the inputs four at a time ({@link #row4}: each piece widened once for four inputs, the
     * same operations per input as {@link #row}) over tiles of rows, so a tile's weights stay
     * in the cache while every input passes over them; the remaining inputs go one by one.
     * On a float vector of other than 8 or 16 lanes the blocks are dequantized into a scratch
     * as for the other types.
     */
    abstract static sealed class InRegister extends QuantizedTensor permits Q4K, Q6K {
        private static final boolean APPLIES = LANES == 8 || LANES == 16;
        /** Rows multiplied by one group of inputs before the next group starts. */
        private static final int ROW_TILE = 32;

        private InRegister(GgmlType type, MemorySegment data) {
            super(type, data);
        }

        /** Σ row · x over the {@code blocks} blocks starting at byte {@code at}. */
        abstract float row(long at, float[] x, int blocks, float[] lanes);

        /** out[b + i][r] = {@link #row}(at, x[b + i], blocks) for i in [0, 4), bit for bit. */
        abstract void row4(long at, float[][] x, int b, int blocks, float[][] out, int r, float[] lanes);

        @Override
        final float dot(long offset, float[] x, int n) {
            if (!APPLIES) {
                return super.dot(offset, x, n);
            }
            return row(offset / blockSize * blockBytes, x, n / blockSize, new float[LANES]);
        }

        @Override
        final void matmulRows(float[][] x, float[][] out, int batch, int from, int to, int cols) {
            if (!APPLIES) {
                super.matmulRows(x, out, batch, from, to, cols);
                return;
            }
            float[] lanes = new float[LANES];
            int blocks = cols / blockSize;
            long rowBytes = (long) blocks * blockBytes;
            for (int tile = from; tile < to; tile += ROW_TILE) {
                int end = Math.min(to, tile + ROW_TILE);
                int b = 0;
                for (; b + 4 <= batch; b += 4) {
                    for (int r = tile; r < end; r++) {
                        row4(r * rowBytes, x, b, blocks, out, r, lanes);
                    }
                }
                for (; b < batch; b++) {
                    for (int r = tile; r < end; r++) {
                        out[b][r] = row(r * rowBytes, x[b], blocks, lanes);
                    }
                }
            }
        }

        /** The lanes of {@code sum} added in order (through {@code lanes}). */
        static float total(FloatVector sum4, float[] lanes) {
            sum4.intoArray(lanes, 0);
            float sum = 0;
            for (float lane : lanes) {
                sum += lane;
            }
            return sum;
        }

        /** {@link FLOATS}-many bytes of {@code data} at {@code at}, sign-extended to ints. */
        static IntVector widen(MemorySegment data, long at) {
            return (IntVector) ByteVector.fromMemorySegment(BYTES, data, at, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2I, INTS, 0);
        }

        static float half(MemorySegment data, long at) {
            return Float.float16ToFloat(data.get(F16_LAYOUT, at));
        }
    }

    /**
     * Q4_K: F16 d, F16 dmin, 12 bytes of 6-bit scales and minima, 128 bytes of nibbles. In
     * the kernels each weight is fma(q, d × scale, −(dmin × min)), rounded once (ggml rounds
     * the product and the difference separately, as {@link #element} does).
     */
    static final class Q4K extends InRegister {
        Q4K(MemorySegment data) {
            super(GgmlType.Q4_K, data);
        }

        @Override
        float element(long at, int i) {
            int sub = i / 32;
            int packed = u8(at + 16 + 32 * (i / 64) + i % 32);
            int q = sub % 2 == 0 ? packed & 0x0F : packed >>> 4;
            return half(at) * scaleOrMin(at + 4, sub, 0) * q - half(at + 2) * scaleOrMin(at + 4, sub, 1);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at);
            float dmin = half(at + 2);
            for (int c = 0; c < 4; c++) {
                nibbles32(at + 16 + 32 * c, out, o + 64 * c,
                        d * scaleOrMin(at + 4, 2 * c, 0), dmin * scaleOrMin(at + 4, 2 * c, 1),
                        d * scaleOrMin(at + 4, 2 * c + 1, 0), dmin * scaleOrMin(at + 4, 2 * c + 1, 1));
            }
        }

        /** The eight 6-bit scales of the block at {@code at}, byte j = sub-block j's. */
        private static long scales(MemorySegment data, long at) {
            int u0 = data.get(U32_LAYOUT, at + 4);
            int u2 = data.get(U32_LAYOUT, at + 12);
            return (u0 & 0x3F3F3F3FL) | (long) ((u2 & 0x0F0F0F0F) | (u0 >>> 2 & 0x30303030)) << 32;
        }

        /** The eight 6-bit minima of the block at {@code at}, byte j = sub-block j's. */
        private static long mins(MemorySegment data, long at) {
            int u1 = data.get(U32_LAYOUT, at + 8);
            int u2 = data.get(U32_LAYOUT, at + 12);
            return (u1 & 0x3F3F3F3FL) | (long) ((u2 >>> 4 & 0x0F0F0F0F) | (u1 >>> 2 & 0x30303030)) << 32;
        }

        @Override
        float row(long at, float[] x, int blocks, float[] lanes) {
            return rowOf(data, at, x, blocks, lanes);
        }

        private static float rowOf(MemorySegment data, long at, float[] x, int blocks, float[] lanes) {
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            for (int xb = 0; xb < 256 * blocks; xb += 256, at += 144) {
                float d = half(data, at);
                float dmin = half(data, at + 2);
                long scales = scales(data, at);
                long mins = mins(data, at);
                for (int j = 0; j < 8; j++) {
                    float s = d * (int) (scales >>> 8 * j & 0xFF);
                    float m = -(dmin * (int) (mins >>> 8 * j & 0xFF));
                    int shift = 4 * (j & 1);
                    long q = at + 16 + 32 * (j >> 1);
                    for (int l = 0; l < 32; l += 2 * LANES) {
                        int i = xb + 32 * j + l;
                        a0 = ((FloatVector) widen(data, q + l).lanewise(VectorOperators.LSHR, shift).and(15)
                                .convert(VectorOperators.I2F, 0)).fma(s, m).fma(FloatVector.fromArray(FLOATS, x, i), a0);
                        a1 = ((FloatVector) widen(data, q + l + LANES).lanewise(VectorOperators.LSHR, shift).and(15)
                                .convert(VectorOperators.I2F, 0)).fma(s, m)
                                .fma(FloatVector.fromArray(FLOATS, x, i + LANES), a1);
                    }
                }
            }
            return total(a0.add(a1), lanes);
        }

        @Override
        void row4(long at, float[][] x, int b, int blocks, float[][] out, int r, float[] lanes) {
            row4Of(data, at, x, b, blocks, out, r, lanes);
        }

        private static void row4Of(MemorySegment data, long at, float[][] x, int b, int blocks, float[][] out, int r,
                float[] lanes) {
            float[] x0 = x[b];
            float[] x1 = x[b + 1];
            float[] x2 = x[b + 2];
            float[] x3 = x[b + 3];
            FloatVector u0 = FloatVector.zero(FLOATS);
            FloatVector u1 = u0;
            FloatVector v0 = u0;
            FloatVector v1 = u0;
            FloatVector w0 = u0;
            FloatVector w1 = u0;
            FloatVector z0 = u0;
            FloatVector z1 = u0;
            for (int xb = 0; xb < 256 * blocks; xb += 256, at += 144) {
                float d = half(data, at);
                float dmin = half(data, at + 2);
                long scales = scales(data, at);
                long mins = mins(data, at);
                for (int j = 0; j < 8; j++) {
                    float s = d * (int) (scales >>> 8 * j & 0xFF);
                    float m = -(dmin * (int) (mins >>> 8 * j & 0xFF));
                    int shift = 4 * (j & 1);
                    long q = at + 16 + 32 * (j >> 1);
                    for (int l = 0; l < 32; l += 2 * LANES) {
                        int i = xb + 32 * j + l;
                        FloatVector k0 = ((FloatVector) widen(data, q + l).lanewise(VectorOperators.LSHR, shift).and(15)
                                .convert(VectorOperators.I2F, 0)).fma(s, m);
                        FloatVector k1 = ((FloatVector) widen(data, q + l + LANES).lanewise(VectorOperators.LSHR, shift)
                                .and(15).convert(VectorOperators.I2F, 0)).fma(s, m);
                        u0 = k0.fma(FloatVector.fromArray(FLOATS, x0, i), u0);
                        u1 = k1.fma(FloatVector.fromArray(FLOATS, x0, i + LANES), u1);
                        v0 = k0.fma(FloatVector.fromArray(FLOATS, x1, i), v0);
                        v1 = k1.fma(FloatVector.fromArray(FLOATS, x1, i + LANES), v1);
                        w0 = k0.fma(FloatVector.fromArray(FLOATS, x2, i), w0);
                        w1 = k1.fma(FloatVector.fromArray(FLOATS, x2, i + LANES), w1);
                        z0 = k0.fma(FloatVector.fromArray(FLOATS, x3, i), z0);
                        z1 = k1.fma(FloatVector.fromArray(FLOATS, x3, i + LANES), z1);
                    }
                }
            }
            out[b][r] = total(u0.add(u1), lanes);
            out[b + 1][r] = total(v0.add(v1), lanes);
            out[b + 2][r] = total(w0.add(w1), lanes);
            out[b + 3][r] = total(z0.add(z1), lanes);
        }
    }

    /** Q5_K: Q4_K with 32 bytes of fifth bits between the scales and the nibbles. */
    static final class Q5K extends QuantizedTensor {
        Q5K(MemorySegment data) {
            super(GgmlType.Q5_K, data);
        }

        @Override
        float element(long at, int i) {
            int sub = i / 32;
            int packed = u8(at + 48 + 32 * (i / 64) + i % 32);
            int q = (sub % 2 == 0 ? packed & 0x0F : packed >>> 4) | (u8(at + 16 + i % 32) >>> sub & 1) << 4;
            return half(at) * scaleOrMin(at + 4, sub, 0) * q - half(at + 2) * scaleOrMin(at + 4, sub, 1);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at);
            float dmin = half(at + 2);
            for (int c = 0; c < 4; c++) {
                float d1 = d * scaleOrMin(at + 4, 2 * c, 0);
                float m1 = dmin * scaleOrMin(at + 4, 2 * c, 1);
                float d2 = d * scaleOrMin(at + 4, 2 * c + 1, 0);
                float m2 = dmin * scaleOrMin(at + 4, 2 * c + 1, 1);
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector packed = bytes(at + 48 + 32 * c + l);
                    ByteVector fifth = bytes(at + 16 + l);
                    toFloats(low(packed).or(fifthBit(fifth, 2 * c))).mul(d1).sub(m1).intoArray(out, o + 64 * c + l);
                    toFloats(high(packed).or(fifthBit(fifth, 2 * c + 1))).mul(d2).sub(m2)
                            .intoArray(out, o + 64 * c + 32 + l);
                }
            }
        }
    }

    /**
     * Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed scales, F16 d.
     * In the kernels each weight is fma(q, d × scale, −32 × d × scale): the one rounding of
     * d × scale × (q − 32), which is ggml's value.
     */
    static final class Q6K extends InRegister {
        Q6K(MemorySegment data) {
            super(GgmlType.Q6_K, data);
        }

        @Override
        float element(long at, int i) {
            int part = i / 128;
            int k = i % 128 / 32;
            int l = i % 32;
            int lowByte = u8(at + 64 * part + 32 * (k % 2) + l);
            int nibble = k < 2 ? lowByte & 0x0F : lowByte >>> 4;
            int highBits = u8(at + 128 + 32 * part + l) >>> (2 * k) & 3;
            return half(at + 208) * data.get(ValueLayout.JAVA_BYTE, at + 192 + i / 16) * ((nibble | highBits << 4) - 32);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at + 208);
            for (int sub = 0; sub < 16; sub++) {
                float ds = d * data.get(ValueLayout.JAVA_BYTE, at + 192 + sub);
                int part = sub / 8;
                int k = sub % 8 / 2;
                long lows = at + 64 * part + 32 * (k % 2) + 16 * (sub % 2);
                long highs = at + 128 + 32 * part + 16 * (sub % 2);
                for (int l = 0; l < 16; l += LANES) {
                    ByteVector packed = bytes(lows + l);
                    ByteVector nibble = k < 2 ? low(packed) : high(packed);
                    ByteVector highBits = bytes(highs + l).lanewise(VectorOperators.LSHR, 2 * k).and((byte) 3);
                    ByteVector q = nibble.or(highBits.lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    toFloats(q).mul(ds).intoArray(out, o + 16 * sub + l);
                }
            }
        }

        /** d × scale {@code j} of the block at {@code at}, whose d is {@code d}. */
        private static float scale(MemorySegment data, long at, float d, int j) {
            return d * data.get(ValueLayout.JAVA_BYTE, at + 192 + j);
        }

        @Override
        float row(long at, float[] x, int blocks, float[] lanes) {
            return rowOf(data, at, x, blocks, lanes);
        }

        private static float rowOf(MemorySegment data, long at, float[] x, int blocks, float[] lanes) {
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int xb = 0; xb < 256 * blocks; xb += 256, at += 210) {
                float d = half(data, at + 208);
                for (int part = 0; part < 2; part++) {
                    for (int l = 0; l < 32; l += LANES) {
                        IntVector lowA = widen(data, at + 64 * part + l);
                        IntVector lowB = widen(data, at + 64 * part + 32 + l);
                        IntVector high = widen(data, at + 128 + 32 * part + l);
                        int j = 8 * part + l / 16;
                        float s0 = scale(data, at, d, j);
                        float s1 = scale(data, at, d, j + 2);
                        float s2 = scale(data, at, d, j + 4);
                        float s3 = scale(data, at, d, j + 6);
                        int i = xb + 128 * part + l;
                        a0 = ((FloatVector) lowA.and(15).or(high.lanewise(VectorOperators.LSHL, 4).and(48)).convert(VectorOperators.I2F, 0))
                                .fma(s0, -32 * s0).fma(FloatVector.fromArray(FLOATS, x, i), a0);
                        a1 = ((FloatVector) lowB.and(15).or(high.lanewise(VectorOperators.LSHL, 2).and(48)).convert(VectorOperators.I2F, 0))
                                .fma(s1, -32 * s1).fma(FloatVector.fromArray(FLOATS, x, i + 32), a1);
                        a2 = ((FloatVector) lowA.lanewise(VectorOperators.LSHR, 4).and(15).or(high.and(48)).convert(VectorOperators.I2F, 0))
                                .fma(s2, -32 * s2).fma(FloatVector.fromArray(FLOATS, x, i + 64), a2);
                        a3 = ((FloatVector) lowB.lanewise(VectorOperators.LSHR, 4).and(15)
                                .or(high.lanewise(VectorOperators.LSHR, 2).and(48)).convert(VectorOperators.I2F, 0))
                                .fma(s3, -32 * s3).fma(FloatVector.fromArray(FLOATS, x, i + 96), a3);
                    }
                }
            }
            return total(a0.add(a1).add(a2.add(a3)), lanes);
        }

        @Override
        void row4(long at, float[][] x, int b, int blocks, float[][] out, int r, float[] lanes) {
            row4Of(data, at, x, b, blocks, out, r, lanes);
        }

        private static void row4Of(MemorySegment data, long at, float[][] x, int b, int blocks, float[][] out, int r,
                float[] lanes) {
            float[] x0 = x[b];
            float[] x1 = x[b + 1];
            float[] x2 = x[b + 2];
            float[] x3 = x[b + 3];
            FloatVector u0 = FloatVector.zero(FLOATS);
            FloatVector u1 = u0;
            FloatVector u2 = u0;
            FloatVector u3 = u0;
            FloatVector v0 = u0;
            FloatVector v1 = u0;
            FloatVector v2 = u0;
            FloatVector v3 = u0;
            FloatVector w0 = u0;
            FloatVector w1 = u0;
            FloatVector w2 = u0;
            FloatVector w3 = u0;
            FloatVector z0 = u0;
            FloatVector z1 = u0;
            FloatVector z2 = u0;
            FloatVector z3 = u0;
            for (int xb = 0; xb < 256 * blocks; xb += 256, at += 210) {
                float d = half(data, at + 208);
                for (int part = 0; part < 2; part++) {
                    for (int l = 0; l < 32; l += LANES) {
                        IntVector lowA = widen(data, at + 64 * part + l);
                        IntVector lowB = widen(data, at + 64 * part + 32 + l);
                        IntVector high = widen(data, at + 128 + 32 * part + l);
                        int j = 8 * part + l / 16;
                        float s0 = scale(data, at, d, j);
                        float s1 = scale(data, at, d, j + 2);
                        float s2 = scale(data, at, d, j + 4);
                        float s3 = scale(data, at, d, j + 6);
                        int i = xb + 128 * part + l;
                        FloatVector k0 = ((FloatVector) lowA.and(15).or(high.lanewise(VectorOperators.LSHL, 4).and(48)).convert(VectorOperators.I2F, 0))
                                .fma(s0, -32 * s0);
                        FloatVector k1 = ((FloatVector) lowB.and(15).or(high.lanewise(VectorOperators.LSHL, 2).and(48)).convert(VectorOperators.I2F, 0))
                                .fma(s1, -32 * s1);
                        FloatVector k2 = ((FloatVector) lowA.lanewise(VectorOperators.LSHR, 4).and(15).or(high.and(48)).convert(VectorOperators.I2F, 0))
                                .fma(s2, -32 * s2);
                        FloatVector k3 = ((FloatVector) lowB.lanewise(VectorOperators.LSHR, 4).and(15)
                                .or(high.lanewise(VectorOperators.LSHR, 2).and(48)).convert(VectorOperators.I2F, 0)).fma(s3, -32 * s3);
                        u0 = k0.fma(FloatVector.fromArray(FLOATS, x0, i), u0);
                        u1 = k1.fma(FloatVector.fromArray(FLOATS, x0, i + 32), u1);
                        u2 = k2.fma(FloatVector.fromArray(FLOATS, x0, i + 64), u2);
                        u3 = k3.fma(FloatVector.fromArray(FLOATS, x0, i + 96), u3);
                        v0 = k0.fma(FloatVector.fromArray(FLOATS, x1, i), v0);
                        v1 = k1.fma(FloatVector.fromArray(FLOATS, x1, i + 32), v1);
                        v2 = k2.fma(FloatVector.fromArray(FLOATS, x1, i + 64), v2);
                        v3 = k3.fma(FloatVector.fromArray(FLOATS, x1, i + 96), v3);
                        w0 = k0.fma(FloatVector.fromArray(FLOATS, x2, i), w0);
                        w1 = k1.fma(FloatVector.fromArray(FLOATS, x2, i + 32), w1);
                        w2 = k2.fma(FloatVector.fromArray(FLOATS, x2, i + 64), w2);
                        w3 = k3.fma(FloatVector.fromArray(FLOATS, x2, i + 96), w3);
                        z0 = k0.fma(FloatVector.fromArray(FLOATS, x3, i), z0);
                        z1 = k1.fma(FloatVector.fromArray(FLOATS, x3, i + 32), z1);
                        z2 = k2.fma(FloatVector.fromArray(FLOATS, x3, i + 64), z2);
                        z3 = k3.fma(FloatVector.fromArray(FLOATS, x3, i + 96), z3);
                    }
                }
            }
            out[b][r] = total(u0.add(u1).add(u2.add(u3)), lanes);
            out[b + 1][r] = total(v0.add(v1).add(v2.add(v3)), lanes);
            out[b + 2][r] = total(w0.add(w1).add(w2.add(w3)), lanes);
            out[b + 3][r] = total(z0.add(z1).add(z2.add(z3)), lanes);
        }
    }

    /** IQ4_NL: F16 d, 16 bytes of nibbles indexing the 16 levels. */
    static final class IQ4NL extends QuantizedTensor {
        IQ4NL(MemorySegment data) {
            super(GgmlType.IQ4_NL, data);
        }

        @Override
        float element(long at, int i) {
            return half(at) * iq4Level(at + 2, i);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            iq4(at + 2, out, o, half(at));
        }
    }

    /** IQ4_XS: F16 d, 16 bits of scale tops, 4 bytes of scale nibbles, eight IQ4_NL-like sub-blocks. */
    static final class IQ4XS extends QuantizedTensor {
        IQ4XS(MemorySegment data) {
            super(GgmlType.IQ4_XS, data);
        }

        /** Scale of sub-block {@code sub}, offset by 32. */
        private int scale(long at, int sub) {
            int lowBits = u8(at + 4 + sub / 2) >>> (4 * (sub % 2)) & 0x0F;
            int highBits = (data.get(F16_LAYOUT, at + 2) & 0xFFFF) >>> (2 * sub) & 3;
            return (lowBits | highBits << 4) - 32;
        }

        @Override
        float element(long at, int i) {
            int sub = i / 32;
            return half(at) * scale(at, sub) * iq4Level(at + 8 + 16 * sub, i % 32);
        }

        @Override
        void dequantize(long at, float[] out, int o) {
            float d = half(at);
            for (int sub = 0; sub < 8; sub++) {
                iq4(at + 8 + 16 * sub, out, o + 32 * sub, d * scale(at, sub));
            }
        }
    }
}
