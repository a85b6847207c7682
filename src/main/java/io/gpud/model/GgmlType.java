package io.gpud.model;

/**
 * Storage types of GGUF tensors, with their on-disk ids and block layout. Elements are
 * stored in blocks of {@link #blockSize()} elements taking {@link #bytesPerBlock()} bytes:
 * one element per block for the plain float types; for Q8_0, an F16 scale and 32 signed
 * bytes (value = scale × q); for Q4_0, an F16 scale and 16 bytes of 4-bit quants, element
 * i in the low nibble of byte i and element i + 16 in the high nibble (value =
 * scale × (q − 8)). Only F32, F16, BF16, Q8_0 and Q4_0 can be read; the others are known
 * by name so errors can say which type a file uses.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 0, 0),
    Q5_0(6, 0, 0),
    Q5_1(7, 0, 0),
    Q8_0(8, 32, 34),
    Q8_1(9, 0, 0),
    Q2_K(10, 0, 0),
    Q3_K(11, 0, 0),
    Q4_K(12, 0, 0),
    Q5_K(13, 0, 0),
    Q6_K(14, 0, 0),
    Q8_K(15, 0, 0),
    I8(24, 0, 0),
    I16(25, 0, 0),
    I32(26, 0, 0),
    I64(27, 0, 0),
    F64(28, 0, 0),
    BF16(30, 1, 2);

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

    /** Elements per block of a supported type (1 for plain floats, 32 for Q8_0 and Q4_0). */
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
