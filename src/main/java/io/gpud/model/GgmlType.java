package io.gpud.model;

/**
 * Storage types of GGUF tensors, with their on-disk ids. Only {@link #F32} and {@link #F16}
 * can be read now; the others are known by name so errors can say which type a file uses.
 */
public enum GgmlType {
    F32(0, 4),
    F16(1, 2),
    Q4_0(2, 0),
    Q4_1(3, 0),
    Q5_0(6, 0),
    Q5_1(7, 0),
    Q8_0(8, 0),
    Q8_1(9, 0),
    Q2_K(10, 0),
    Q3_K(11, 0),
    Q4_K(12, 0),
    Q5_K(13, 0),
    Q6_K(14, 0),
    Q8_K(15, 0),
    I8(24, 1),
    I16(25, 2),
    I32(26, 4),
    I64(27, 8),
    F64(28, 8),
    BF16(30, 2);

    private final int id;
    private final int bytesPerElement;

    GgmlType(int id, int bytesPerElement) {
        this.id = id;
        this.bytesPerElement = bytesPerElement;
    }

    /** The type's id in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Whether tensors of this type can be loaded now. */
    public boolean isSupported() {
        return this == F32 || this == F16;
    }

    /** Bytes per element of a supported type. */
    public int bytesPerElement() {
        if (!isSupported()) {
            throw new ModelFormatException("unsupported tensor type " + this);
        }
        return bytesPerElement;
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
