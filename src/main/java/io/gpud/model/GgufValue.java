package io.gpud.model;

import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value and its type. The Java type of {@code value} follows the GGUF
 * type: {@code UINT8, INT8, UINT16, INT16, INT32} → {@link Integer}; {@code UINT32, INT64,
 * UINT64} → {@link Long} (UINT64 keeps its bit pattern); {@code FLOAT32} → {@link Float};
 * {@code FLOAT64} → {@link Double}; {@code BOOL} → {@link Boolean}; {@code STRING} →
 * {@link String}; {@code ARRAY} → {@link Array}.
 */
public record GgufValue(GgufValueType type, Object value) {

    /** An array value: its element type and its elements, mapped as above. */
    public record Array(GgufValueType elementType, List<?> elements) {
        public Array {
            Objects.requireNonNull(elementType, "elementType");
            elements = List.copyOf(elements);
            for (Object element : elements) {
                checkJavaType(elementType, element);
            }
        }
    }

    public GgufValue {
        Objects.requireNonNull(type, "type");
        checkJavaType(type, value);
    }

    private static void checkJavaType(GgufValueType type, Object value) {
        Class<?> expected = switch (type) {
            case UINT8, INT8, UINT16, INT16, INT32 -> Integer.class;
            case UINT32, INT64, UINT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case FLOAT64 -> Double.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case ARRAY -> Array.class;
        };
        if (!expected.isInstance(value)) {
            throw new IllegalArgumentException("a GGUF " + type + " value must be a " + expected.getSimpleName()
                    + ", was " + (value == null ? "null" : value.getClass().getSimpleName()));
        }
    }

    public static GgufValue string(String value) {
        return new GgufValue(GgufValueType.STRING, value);
    }

    public static GgufValue uint32(long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("uint32 value was " + value + ", must be in [0, 2^32)");
        }
        return new GgufValue(GgufValueType.UINT32, value);
    }

    public static GgufValue int32(int value) {
        return new GgufValue(GgufValueType.INT32, value);
    }

    public static GgufValue float32(float value) {
        return new GgufValue(GgufValueType.FLOAT32, value);
    }

    public static GgufValue bool(boolean value) {
        return new GgufValue(GgufValueType.BOOL, value);
    }

    public static GgufValue stringArray(List<String> values) {
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.STRING, values));
    }

    public static GgufValue float32Array(float[] values) {
        Float[] boxed = new Float[values.length];
        for (int i = 0; i < values.length; i++) {
            boxed[i] = values[i];
        }
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.FLOAT32, List.of(boxed)));
    }

    public static GgufValue int32Array(int[] values) {
        Integer[] boxed = new Integer[values.length];
        for (int i = 0; i < values.length; i++) {
            boxed[i] = values[i];
        }
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.INT32, List.of(boxed)));
    }
}
