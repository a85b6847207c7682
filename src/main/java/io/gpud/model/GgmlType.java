package io.gpud.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Storage types of GGUF tensors, with their on-disk ids and block layout, as ggml defines
 * them. Elements are stored in blocks of {@link #blockSize()} elements taking
 * {@link #bytesPerBlock()} bytes, all numbers little-endian; "F16" below is an IEEE half.
 *
 * <p>The plain types hold one element per block: F32, F16 and BF16 (the upper half of a
 * float32).
 *
 * <p>Blocks of 32 elements, where a byte of "nibbles" holds element i in its low four bits
 * and element i + 16 in its high four (i the byte's index):
 * <ul>
 * <li>Q8_0: F16 d, then 32 signed bytes q; value = d × q.
 * <li>Q4_0: F16 d, 16 bytes of nibbles q; value = d × (q − 8).
 * <li>Q4_1: F16 d, F16 m, 16 bytes of nibbles q; value = d × q + m.
 * <li>Q5_0: F16 d, a 32-bit word whose bit i is bit 4 of element i, 16 bytes of nibbles
 *     holding the low four bits; value = d × (q − 16).
 * <li>Q5_1: F16 d, F16 m, then Q5_0's word and nibbles; value = d × q + m.
 * <li>IQ4_NL: F16 d, 16 bytes of nibbles indexing a fixed table of 16 signed levels
 *     (−127 … 113, denser near zero); value = d × level.
 * </ul>
 *
 * <p>"K" super-blocks of 256 elements, cut into sub-blocks of 16 or 32 that each have a
 * small integer scale (and for some types a minimum), themselves scaled by F16 super-scales:
 * <ul>
 * <li>Q2_K (84 bytes): 16 bytes of sub-block (16 elements) scale s in the low nibble and
 *     minimum m in the high nibble; 64 bytes of 2-bit quants; F16 d; F16 dmin. The quants
 *     come in two halves of 128 elements, each half 32 bytes: element 32j + l of the half
 *     is bits 2j..2j+1 of byte l. value = (d × s) × q − (dmin × m).
 * <li>Q3_K (110 bytes): 32 bytes of high bits, 64 bytes of 2-bit low quants (laid out as
 *     Q2_K's), 12 bytes of sixteen 6-bit scales, F16 d. Element 32g + l (g in 0..7) takes
 *     bit g of high-bit byte l; a clear bit subtracts 4 from the 2-bit quant, giving −4..3.
 *     Scale k (0..15) has its low four bits in byte k mod 8 (low nibble for k &lt; 8, high
 *     nibble after) and its top two bits in byte 8 + k mod 4 at bit 2 × (k / 4); it is stored
 *     offset by 32. value = (d × (s − 32)) × q.
 * <li>Q4_K (144 bytes): F16 d, F16 dmin, 12 bytes of eight 6-bit scales s and minima m (one
 *     pair per 32 elements), 128 bytes of nibbles: sub-blocks 2c and 2c + 1 share bytes
 *     32c..32c+31, the first in the low nibbles. Pair j &lt; 4: s = bits 0..5 of byte j,
 *     m = bits 0..5 of byte j + 4; pair j ≥ 4: s = low nibble of byte j + 4 with the top
 *     two bits of byte j − 4 above it, m = high nibble of byte j + 4 with the top two bits
 *     of byte j above it. value = (d × s) × q − (dmin × m).
 * <li>Q5_K (176 bytes): as Q4_K with 32 bytes of fifth bits between scales and nibbles:
 *     element 32g + l takes bit g of byte l as its bit 4.
 * <li>Q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed
 *     byte scales (one per 16 elements), F16 d. In each half of 128 elements (64 low bytes,
 *     32 high bytes), element 32k + l has its low nibble from low byte l + 32 (k mod 2),
 *     the low nibble for k &lt; 2 and the high one after, and its high bits from bits
 *     2k..2k+1 of high byte l. value = (d × s) × (q − 32).
 * <li>IQ4_XS (136 bytes): F16 d, a 16-bit word of the top two bits of eight 6-bit scales
 *     (two bits per sub-block of 32), 4 bytes of their low nibbles (sub-block 2i in the low
 *     nibble of byte i), then 128 bytes laid out as eight IQ4_NL blocks without their d;
 *     value = (d × (s − 32)) × level.
 * </ul>
 *
 * <p>Q8_1 and Q8_K are ggml's activation formats, the IQ1/IQ2/IQ3, TQ and FP4 types
 * lattice or ternary codes, and the integer types hold no weights: they are known by name so
 * errors can say which type a file uses, but cannot be read.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 0, 0),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 0, 0),
    IQ2_XXS(16, 0, 0),
    IQ2_XS(17, 0, 0),
    IQ3_XXS(18, 0, 0),
    IQ1_S(19, 0, 0),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 0, 0),
    IQ2_S(22, 0, 0),
    IQ4_XS(23, 256, 136),
    I8(24, 0, 0),
    I16(25, 0, 0),
    I32(26, 0, 0),
    I64(27, 0, 0),
    F64(28, 0, 0),
    IQ1_M(29, 0, 0),
    BF16(30, 1, 2),
    TQ1_0(34, 0, 0),
    TQ2_0(35, 0, 0),
    MXFP4(39, 0, 0),
    NVFP4(40, 0, 0);

    private final int id;
    private final int blockSize;
    private final int bytesPerBlock;

    GgmlType(int id, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** The type's id in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Whether tensors of this type can be loaded now. */
    public boolean isSupported() {
        return blockSize > 0;
    }

    /** The names of the supported types, comma-separated, for error messages. */
    public static String supportedNames() {
        return Arrays.stream(values()).filter(GgmlType::isSupported).map(GgmlType::name)
                .collect(Collectors.joining(", "));
    }

    /** Elements per block of a supported type: 1 for plain floats, 32 or 256 for quantized ones. */
    public int blockSize() {
        requireSupported();
        return blockSize;
    }

    /** Bytes per block of a supported type. */
    public int bytesPerBlock() {
        requireSupported();
        return bytesPerBlock;
    }

    /**
     * Bytes taken by {@code elements} elements of this type.
     *
     * @throws ModelFormatException when {@code elements} is not a whole number of blocks
     *                              or the size overflows
     */
    public long byteSize(long elements) {
        requireSupported();
        if (elements < 0 || elements % blockSize != 0) {
            throw new ModelFormatException(elements + " elements of " + this + " are not a whole number of "
                    + blockSize + "-element blocks");
        }
        try {
            return Math.multiplyExact(elements / blockSize, (long) bytesPerBlock);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(elements + " elements of " + this + " overflow a 64-bit size");
        }
    }

    private void requireSupported() {
        if (!isSupported()) {
            throw new ModelFormatException("unsupported tensor type " + this);
        }
    }

    /** The type with GGUF id {@code id}, or null when the id is unknown. */
    static GgmlType byId(int id) {
        for (GgmlType type : values()) {
            if (type.id == id) {
                return type;
            }
        }
        return null;
    }
}
