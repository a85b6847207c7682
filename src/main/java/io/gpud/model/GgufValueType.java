package io.gpud.model;

/** Types of GGUF metadata values, with their on-disk ids and minimum encoded sizes. */
public enum GgufValueType {
    UINT8(1),
    INT8(1),
    UINT16(2),
    INT16(2),
    UINT32(4),
    INT32(4),
    FLOAT32(4),
    BOOL(1),
    /** uint64 length, then that many UTF-8 bytes. */
    STRING(8),
    /** uint32 element type, uint64 count, then the elements. */
    ARRAY(12),
    UINT64(8),
    INT64(8),
    FLOAT64(8);

    private final int minBytes;

    GgufValueType(int minBytes) {
        this.minBytes = minBytes;
    }

    /** The id written in GGUF files (the ordinal). */
    public int id() {
        return ordinal();
    }

    /** The fewest bytes one value of this type takes in a file. */
    int minBytes() {
        return minBytes;
    }

    static GgufValueType byId(int id) {
        GgufValueType[] all = values();
        return id >= 0 && id < all.length ? all[id] : null;
    }
}
