package io.gpud.model;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a GGUF v3 file in memory order and writes it: metadata in insertion order, then
 * tensors (converted from float arrays to F32, F16, BF16, Q8_0 or Q4_0) aligned to {@code general.alignment}
 * (32 unless that key was put). Used by the demo model generator and by tests; it holds all
 * tensor data on the heap, so it suits small models only.
 */
public final class GgufWriter {
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();

    private record PendingTensor(String name, GgmlType type, long[] dims, float[] values) {
    }

    /** Adds or replaces a metadata entry. */
    public GgufWriter put(String key, GgufValue value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Adds a tensor. {@code dims} are GGUF dimensions, fastest-varying first (a matrix of
     * {@code rows × columns} is {@code [columns, rows]}); {@code values} is row-major.
     */
    public GgufWriter tensor(String name, GgmlType type, long[] dims, float[] values) {
        if (!type.isSupported()) {
            throw new IllegalArgumentException("tensor " + name + ": type " + type + " cannot be written");
        }
        long elements = 1;
        for (long d : dims) {
            elements *= d;
        }
        if (dims.length < 1 || dims.length > GgufFile.MAX_DIMS || elements != values.length) {
            throw new IllegalArgumentException("tensor " + name + ": " + dims.length + " dims with " + elements
                    + " elements, but " + values.length + " values");
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor " + name + ": rows of " + dims[0] + " elements are not a multiple"
                    + " of the " + type + " block size " + type.blockSize());
        }
        tensors.add(new PendingTensor(name, type, dims.clone(), values.clone()));
        return this;
    }

    /** Writes the file, replacing any existing one. */
    public void write(Path path) {
        int alignment = metadata.containsKey("general.alignment")
                ? ((Number) metadata.get("general.alignment").value()).intValue()
                : GgufFile.DEFAULT_ALIGNMENT;
        try (OutputStream out = Files.newOutputStream(path)) {
            var header = new Buffer();
            header.int32(GgufFile.MAGIC).int32(GgufFile.VERSION).int64(tensors.size()).int64(metadata.size());
            metadata.forEach((key, value) -> {
                header.string(key).int32(value.type().id());
                header.value(value.type(), value.value());
            });
            long offset = 0;
            var offsets = new long[tensors.size()];
            for (int i = 0; i < tensors.size(); i++) {
                PendingTensor t = tensors.get(i);
                header.string(t.name()).int32(t.dims().length);
                for (long d : t.dims()) {
                    header.int64(d);
                }
                header.int32(t.type().id()).int64(offset);
                offsets[i] = offset;
                offset = GgufFile.alignUp(offset + t.type().byteSize(t.values().length), alignment);
            }
            long written = header.writeTo(out);
            written = pad(out, written, alignment);
            for (PendingTensor t : tensors) {
                byte[] data = encode(t.type(), t.values());
                out.write(data);
                written = pad(out, written + data.length, alignment);
            }
        } catch (IOException e) {
            throw new ModelFormatException("cannot write GGUF file " + path + ": " + e.getMessage(), e);
        }
    }

    /** The bytes of {@code values} stored as {@code type}, quantizing block by block. */
    static byte[] encode(GgmlType type, float[] values) {
        var data = ByteBuffer.allocate(Math.toIntExact(type.byteSize(values.length))).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> {
                for (float v : values) {
                    data.putFloat(v);
                }
            }
            case F16 -> {
                for (float v : values) {
                    data.putShort(Float.floatToFloat16(v));
                }
            }
            case BF16 -> {
                for (float v : values) {
                    data.putShort(toBfloat16(v));
                }
            }
            case Q8_0 -> {
                for (int block = 0; block < values.length; block += 32) {
                    float absMax = 0;
                    for (int i = 0; i < 32; i++) {
                        absMax = Math.max(absMax, Math.abs(values[block + i]));
                    }
                    short scale = Float.floatToFloat16(absMax / 127f);
                    float d = Float.float16ToFloat(scale);
                    data.putShort(scale);
                    for (int i = 0; i < 32; i++) {
                        data.put((byte) (d == 0 ? 0 : Math.clamp(Math.round(values[block + i] / d), -127, 127)));
                    }
                }
            }
            case Q4_0 -> {
                for (int block = 0; block < values.length; block += 32) {
                    float signedMax = 0;
                    for (int i = 0; i < 32; i++) {
                        if (Math.abs(values[block + i]) > Math.abs(signedMax)) {
                            signedMax = values[block + i];
                        }
                    }
                    short scale = Float.floatToFloat16(signedMax / -8f);
                    float d = Float.float16ToFloat(scale);
                    data.putShort(scale);
                    for (int i = 0; i < 16; i++) {
                        int low = d == 0 ? 8 : Math.clamp(Math.round(values[block + i] / d) + 8, 0, 15);
                        int high = d == 0 ? 8 : Math.clamp(Math.round(values[block + 16 + i] / d) + 8, 0, 15);
                        data.put((byte) (low | high << 4));
                    }
                }
            }
            default -> throw new IllegalArgumentException("type " + type + " cannot be written");
        }
        return data.array();
    }

    /** The bfloat16 nearest to {@code v} (ties to even); NaN stays NaN. */
    static short toBfloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    private static long pad(OutputStream out, long written, int alignment) throws IOException {
        long aligned = GgufFile.alignUp(written, alignment);
        out.write(new byte[(int) (aligned - written)]);
        return aligned;
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class Buffer {
        private ByteBuffer bytes = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int more) {
            if (bytes.remaining() < more) {
                var bigger = ByteBuffer.allocate(Math.max(bytes.capacity() * 2, bytes.position() + more))
                        .order(ByteOrder.LITTLE_ENDIAN);
                bigger.put(bytes.flip());
                bytes = bigger;
            }
        }

        Buffer int32(int v) {
            ensure(4);
            bytes.putInt(v);
            return this;
        }

        Buffer int64(long v) {
            ensure(8);
            bytes.putLong(v);
            return this;
        }

        Buffer string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            int64(utf8.length);
            ensure(utf8.length);
            bytes.put(utf8);
            return this;
        }

        void value(GgufValueType type, Object value) {
            ensure(8);
            switch (type) {
                case UINT8, INT8 -> bytes.put((byte) (int) (Integer) value);
                case UINT16, INT16 -> bytes.putShort((short) (int) (Integer) value);
                case INT32 -> bytes.putInt((Integer) value);
                case UINT32 -> bytes.putInt((int) (long) (Long) value);
                case FLOAT32 -> bytes.putFloat((Float) value);
                case BOOL -> bytes.put((byte) ((Boolean) value ? 1 : 0));
                case UINT64, INT64 -> bytes.putLong((Long) value);
                case FLOAT64 -> bytes.putDouble((Double) value);
                case STRING -> string((String) value);
                case ARRAY -> {
                    var array = (GgufValue.Array) value;
                    int32(array.elementType().id()).int64(array.elements().size());
                    for (Object element : array.elements()) {
                        value(array.elementType(), element);
                    }
                }
            }
        }

        long writeTo(OutputStream out) throws IOException {
            out.write(bytes.array(), 0, bytes.position());
            return bytes.position();
        }
    }
}
