package io.gpud.model;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF v3 file, memory-mapped: its metadata, its tensor infos and the tensor data as
 * slices of one read-only {@link MemorySegment} (no size limit, nothing copied to the heap).
 * Closing the file unmaps the data; tensor segments must not be used after that.
 *
 * <p>Layout (little-endian): magic {@code "GGUF"}, uint32 version (3), uint64 tensor count,
 * uint64 metadata count, the metadata key/values, the tensor infos (name, uint32 dimension
 * count, uint64 dimensions, uint32 type, uint64 offset), padding to the alignment
 * ({@code general.alignment}, default 32), then the tensor data; each tensor's offset is
 * relative to the start of the data and a multiple of the alignment.
 *
 * <p>Every count and length is checked against the bytes left in the file before anything
 * is allocated, so a corrupt header fails with a {@link ModelFormatException} instead of
 * running out of memory.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    static final int MAGIC = 0x46554747;
    static final int VERSION = 3;
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_DEPTH = 8;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final int version;
    private final int alignment;
    private final long dataOffset;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensor> tensors;

    private GgufFile(Path path, Arena arena, int version, int alignment, long dataOffset,
                     Map<String, GgufValue> metadata, Map<String, GgufTensor> tensors) {
        this.path = path;
        this.arena = arena;
        this.version = version;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Maps and parses {@code path}; the caller closes the returned file. */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return parse(path, arena, file);
        } catch (IOException e) {
            arena.close();
            throw new ModelFormatException("cannot read GGUF file " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static GgufFile parse(Path path, Arena arena, MemorySegment file) {
        var in = new Reader(path, file);
        in.need(24, "the header");
        int magic = in.int32();
        if (magic != MAGIC) {
            throw new ModelFormatException(path + ": not a GGUF file (magic 0x%08x, expected 0x%08x \"GGUF\")"
                    .formatted(magic, MAGIC));
        }
        int version = in.int32();
        if (version != VERSION) {
            throw new ModelFormatException(path + ": GGUF version " + version + " is not supported, only " + VERSION);
        }
        long tensorCount = in.int64();
        long metadataCount = in.int64();
        // smallest metadata entry: 8-byte key length, 1-byte key, 4-byte type, 1-byte value
        in.checkCount(metadataCount, 14, "metadata entries");
        // smallest tensor info: 8-byte name length, 1-byte name, 4 + 8 + 4 + 8 bytes
        in.checkCount(tensorCount, 33, "tensors");

        var metadata = new LinkedHashMap<String, GgufValue>();
        for (long i = 0; i < metadataCount; i++) {
            String key = in.string("metadata key " + i);
            int typeId = in.int32();
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) {
                throw new ModelFormatException(path + ": metadata key '" + key + "' has unknown value type " + typeId);
            }
            GgufValue value = new GgufValue(type, in.value(type, "metadata key '" + key + "'", 0));
            if (metadata.putIfAbsent(key, value) != null) {
                throw new ModelFormatException(path + ": metadata key '" + key + "' appears twice");
            }
        }

        int alignment = DEFAULT_ALIGNMENT;
        GgufValue alignmentValue = metadata.get("general.alignment");
        if (alignmentValue != null) {
            long a = alignmentValue.value() instanceof Number n ? n.longValue() : -1;
            if (a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
                throw new ModelFormatException(path + ": general.alignment was " + alignmentValue.value()
                        + ", must be a power of two up to 2^20");
            }
            alignment = (int) a;
        }

        record Info(String name, GgmlType type, long[] dims, long offset, long bytes) {
        }
        var infos = new ArrayList<Info>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("name of tensor " + i);
            int nDims = in.int32();
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new ModelFormatException(path + ": tensor " + name + " has " + nDims
                        + " dimensions, must be 1 to " + MAX_DIMS);
            }
            in.need(8L * nDims + 12, "the info of tensor " + name);
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.int64();
                if (dims[d] <= 0) {
                    throw new ModelFormatException(path + ": tensor " + name + " dimension " + d + " is " + dims[d]
                            + ", must be > 0");
                }
                elements = multiplyOrFail(path, name, elements, dims[d]);
            }
            int typeId = in.int32();
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw new ModelFormatException(path + ": unknown tensor type id " + typeId + " for tensor " + name);
            }
            if (!type.isSupported()) {
                throw new ModelFormatException("unsupported tensor type " + type + " for tensor " + name
                        + " (supported: " + GgmlType.supportedNames() + ") in " + path);
            }
            if (dims[0] % type.blockSize() != 0) {
                throw new ModelFormatException(path + ": tensor " + name + " has rows of " + dims[0] + " elements, not a"
                        + " multiple of the " + type + " block size " + type.blockSize());
            }
            long offset = in.int64();
            if (offset < 0 || offset % alignment != 0) {
                throw new ModelFormatException(path + ": tensor " + name + " data offset " + offset
                        + " is not a multiple of the alignment " + alignment);
            }
            infos.add(new Info(name, type, dims, offset, byteSizeOrFail(path, name, type, elements)));
        }

        long dataOffset = alignUp(in.position, alignment);
        var tensors = new LinkedHashMap<String, GgufTensor>();
        for (Info info : infos) {
            long start = dataOffset + info.offset();
            if (info.offset() > file.byteSize() || start > file.byteSize() || info.bytes() > file.byteSize() - start) {
                throw new ModelFormatException(path + ": tensor " + info.name() + " (" + info.type() + ", "
                        + info.bytes() + " bytes at offset " + start + ") ends past the end of the file ("
                        + file.byteSize() + " bytes)");
            }
            var tensor = new GgufTensor(info.name(), info.type(), info.dims(), start, file.asSlice(start, info.bytes()));
            if (tensors.putIfAbsent(info.name(), tensor) != null) {
                throw new ModelFormatException(path + ": tensor " + info.name() + " appears twice");
            }
        }
        return new GgufFile(path, arena, version, alignment, dataOffset, metadata, tensors);
    }

    private static long multiplyOrFail(Path path, String tensor, long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(path + ": tensor " + tensor + " size overflows: " + a + " × " + b);
        }
    }

    private static long byteSizeOrFail(Path path, String tensor, GgmlType type, long elements) {
        try {
            return type.byteSize(elements);
        } catch (ModelFormatException e) {
            throw new ModelFormatException(path + ": tensor " + tensor + ": " + e.getMessage());
        }
    }

    static long alignUp(long position, int alignment) {
        return (position + alignment - 1) / alignment * alignment;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    /** Alignment of the tensor data in bytes. */
    public int alignment() {
        return alignment;
    }

    /** File offset where the tensor data section starts. */
    public long dataOffset() {
        return dataOffset;
    }

    /** All metadata, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** All tensors by name, in file order. */
    public Map<String, GgufTensor> tensors() {
        return tensors;
    }

    /** The tensor {@code name}, or an error naming it when absent. */
    public GgufTensor tensor(String name) {
        GgufTensor tensor = tensors.get(name);
        if (tensor == null) {
            throw new ModelFormatException(path + ": tensor " + name + " is missing");
        }
        return tensor;
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    /** An integer metadata value (any GGUF integer type), which must fit an int. */
    public int getInt(String key) {
        long value = getLong(key);
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw new ModelFormatException(path + ": metadata " + key + " was " + value + ", does not fit an int");
        }
        return (int) value;
    }

    public int getInt(String key, int defaultValue) {
        return has(key) ? getInt(key) : defaultValue;
    }

    /** An integer metadata value of any GGUF integer type. */
    public long getLong(String key) {
        Object value = require(key).value();
        if (value instanceof Integer || value instanceof Long) {
            return ((Number) value).longValue();
        }
        throw wrongType(key, "an integer");
    }

    /** A numeric metadata value of any GGUF number type, as a float. */
    public float getFloat(String key, float defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        if (require(key).value() instanceof Number n) {
            return n.floatValue();
        }
        throw wrongType(key, "a number");
    }

    public String getString(String key) {
        if (require(key).value() instanceof String s) {
            return s;
        }
        throw wrongType(key, "a string");
    }

    public String getString(String key, String defaultValue) {
        return has(key) ? getString(key) : defaultValue;
    }

    /** A string array metadata value. */
    public List<String> getStrings(String key) {
        List<?> elements = array(key, GgufValueType.STRING);
        var result = new ArrayList<String>(elements.size());
        for (Object e : elements) {
            result.add((String) e);
        }
        return result;
    }

    /** A FLOAT32 or FLOAT64 array metadata value. */
    public float[] getFloats(String key) {
        List<?> elements = array(key, GgufValueType.FLOAT32, GgufValueType.FLOAT64);
        float[] result = new float[elements.size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = ((Number) elements.get(i)).floatValue();
        }
        return result;
    }

    /** An integer array metadata value whose elements fit an int. */
    public int[] getInts(String key) {
        List<?> elements = array(key, GgufValueType.INT8, GgufValueType.UINT8, GgufValueType.INT16,
                GgufValueType.UINT16, GgufValueType.INT32, GgufValueType.UINT32);
        int[] result = new int[elements.size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = ((Number) elements.get(i)).intValue();
        }
        return result;
    }

    private List<?> array(String key, GgufValueType... accepted) {
        if (require(key).value() instanceof GgufValue.Array array) {
            for (GgufValueType type : accepted) {
                if (array.elementType() == type) {
                    return array.elements();
                }
            }
            throw new ModelFormatException(path + ": metadata " + key + " is an array of " + array.elementType()
                    + ", expected one of " + List.of(accepted));
        }
        throw wrongType(key, "an array");
    }

    private GgufValue require(String key) {
        GgufValue value = metadata.get(key);
        if (value == null) {
            throw new ModelFormatException(path + ": metadata key " + key + " is missing");
        }
        return value;
    }

    private ModelFormatException wrongType(String key, String expected) {
        return new ModelFormatException(path + ": metadata " + key + " has type " + metadata.get(key).type()
                + ", expected " + expected);
    }

    /** Unmaps the file; tensor data must not be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }

    /** A cursor over the mapped file that checks every read against the file size. */
    private static final class Reader {
        private final Path path;
        private final MemorySegment file;
        private long position;

        Reader(Path path, MemorySegment file) {
            this.path = path;
            this.file = file;
        }

        long remaining() {
            return file.byteSize() - position;
        }

        void need(long bytes, String what) {
            if (bytes < 0 || bytes > remaining()) {
                throw new ModelFormatException(path + ": " + what + " needs " + Long.toUnsignedString(bytes)
                        + " bytes at offset " + position + ", the file is " + file.byteSize() + " bytes");
            }
        }

        void checkCount(long count, long minBytesEach, String what) {
            if (count < 0 || count > remaining() / minBytesEach) {
                throw new ModelFormatException(path + ": header claims " + Long.toUnsignedString(count) + " " + what
                        + ", more than the " + remaining() + " bytes left in the file could hold");
            }
        }

        int int32() {
            need(4, "a uint32");
            int v = file.get(INT, position);
            position += 4;
            return v;
        }

        long int64() {
            need(8, "a uint64");
            long v = file.get(LONG, position);
            position += 8;
            return v;
        }

        String string(String what) {
            long length = int64();
            need(length, what + " (a string of " + Long.toUnsignedString(length) + " bytes)");
            if (length > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(path + ": " + what + " is a string of " + length + " bytes, too long");
            }
            byte[] bytes = file.asSlice(position, length).toArray(ValueLayout.JAVA_BYTE);
            position += length;
            return new String(bytes, StandardCharsets.UTF_8);
        }

        Object value(GgufValueType type, String what, int depth) {
            need(type.minBytes(), what);
            Object value = switch (type) {
                case UINT8 -> Byte.toUnsignedInt(file.get(ValueLayout.JAVA_BYTE, position));
                case INT8 -> (int) file.get(ValueLayout.JAVA_BYTE, position);
                case UINT16 -> Short.toUnsignedInt(file.get(SHORT, position));
                case INT16 -> (int) file.get(SHORT, position);
                case UINT32 -> Integer.toUnsignedLong(file.get(INT, position));
                case INT32 -> file.get(INT, position);
                case FLOAT32 -> file.get(FLOAT, position);
                case BOOL -> booleanAt(what);
                case UINT64, INT64 -> file.get(LONG, position);
                case FLOAT64 -> file.get(DOUBLE, position);
                case STRING, ARRAY -> null;
            };
            if (value != null) {
                position += type.minBytes();
                return value;
            }
            return type == GgufValueType.STRING ? string(what) : array(what, depth);
        }

        private Boolean booleanAt(String what) {
            byte b = file.get(ValueLayout.JAVA_BYTE, position);
            if (b != 0 && b != 1) {
                throw new ModelFormatException(path + ": " + what + " is a bool of value " + b + " at offset "
                        + position + ", must be 0 or 1");
            }
            return b == 1;
        }

        private GgufValue.Array array(String what, int depth) {
            if (depth >= MAX_ARRAY_DEPTH) {
                throw new ModelFormatException(path + ": " + what + " nests arrays deeper than " + MAX_ARRAY_DEPTH);
            }
            int typeId = int32();
            GgufValueType elementType = GgufValueType.byId(typeId);
            if (elementType == null) {
                throw new ModelFormatException(path + ": " + what + " is an array of unknown type " + typeId);
            }
            long count = int64();
            checkCount(count, elementType.minBytes(), "elements in " + what);
            var elements = new ArrayList<>((int) Math.min(count, 1 << 16));
            for (long i = 0; i < count; i++) {
                elements.add(value(elementType, what, depth + 1));
            }
            return new GgufValue.Array(elementType, elements);
        }
    }
}
