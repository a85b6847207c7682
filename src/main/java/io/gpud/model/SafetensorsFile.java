package io.gpud.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a safetensors model: one {@code .safetensors} file, or the shards named by
 * a {@code model.safetensors.index.json} ({@code {"weight_map": {tensor: shard file}}}).
 *
 * <p>A safetensors file is an 8-byte little-endian header length N, N bytes of JSON mapping
 * each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets
 * relative to the end of the header), then the data. Every file is memory-mapped; tensors
 * are slices of the mapping. Checked before use: the header length against the file size
 * and a cap, the JSON, each dtype (F32, F16, BF16), each shape, and that
 * {@code end − begin} is exactly the shape's bytes and lies inside the data.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Header JSON larger than this is refused (real headers are kilobytes to a few MB). */
    static final long MAX_HEADER_BYTES = 100L << 20;
    private static final int MAX_DIMS = 8;
    private static final JsonMapper JSON = JsonMapper.builder()
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
    }

    /** One tensor: its dtype, its shape (slowest-varying first, as in PyTorch) and its bytes. */
    public record Tensor(String name, GgmlType type, long[] shape, MemorySegment data) {
        public Tensor {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    private final Path path;
    private final Arena arena;
    private final Map<String, Tensor> tensors;

    private SafetensorsFile(Path path, Arena arena, Map<String, Tensor> tensors) {
        this.path = path;
        this.arena = arena;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Opens a {@code .safetensors} file, or the shards listed by a
     * {@code model.safetensors.index.json}; the caller closes the result.
     */
    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            var tensors = new LinkedHashMap<String, Tensor>();
            if (path.getFileName().toString().endsWith(".json")) {
                for (Path shard : shards(path)) {
                    for (Tensor tensor : parse(shard, map(shard, arena)).values()) {
                        if (tensors.putIfAbsent(tensor.name(), tensor) != null) {
                            throw new ModelFormatException(shard + ": tensor " + tensor.name()
                                    + " appears in more than one shard");
                        }
                    }
                }
            } else {
                tensors.putAll(parse(path, map(path, arena)));
            }
            return new SafetensorsFile(path, arena, tensors);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static List<Path> shards(Path index) {
        JsonNode root = readJson(index, readSmallFile(index));
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new ModelFormatException(index + ": no \"weight_map\" object");
        }
        var files = new ArrayList<Path>();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
            var entry = it.next();
            String file = entry.getValue().asText("");
            if (file.isEmpty() || file.contains("/") || file.contains("\\") || file.startsWith(".")) {
                throw new ModelFormatException(index + ": tensor " + entry.getKey() + " maps to shard '" + file
                        + "', which is not a plain file name");
            }
            Path shard = index.resolveSibling(file);
            if (!files.contains(shard)) {
                files.add(shard);
            }
        }
        return files;
    }

    private static byte[] readSmallFile(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_HEADER_BYTES) {
                throw new ModelFormatException(file + " has " + size + " bytes, more than " + MAX_HEADER_BYTES);
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file + " does not exist", e);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path file, byte[] bytes) {
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new ModelFormatException(file + ": the JSON is not an object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file + ": malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ModelFormatException("cannot parse " + file + ": " + e.getMessage(), e);
        }
    }

    private static MemorySegment map(Path file, Arena arena) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException("safetensors file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read safetensors file " + file + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Tensor> parse(Path path, MemorySegment file) {
        if (file.byteSize() < 8) {
            throw new ModelFormatException(path + ": " + file.byteSize() + " bytes, too short for a safetensors header");
        }
        long headerLength = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > file.byteSize() - 8) {
            throw new ModelFormatException(path + ": header length " + headerLength + " does not fit the file of "
                    + file.byteSize() + " bytes (at most " + MAX_HEADER_BYTES + ")");
        }
        byte[] header = file.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root = readJson(path, header);
        long dataStart = 8 + headerLength;
        long dataLength = file.byteSize() - dataStart;
        var tensors = new LinkedHashMap<String, Tensor>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var entry = it.next();
            String name = entry.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode info = entry.getValue();
            GgmlType type = dtype(path, name, info.path("dtype").asText(""));
            long[] shape = shape(path, name, info.get("shape"));
            JsonNode offsets = info.get("data_offsets");
            if (offsets == null || !offsets.isArray() || offsets.size() != 2
                    || !offsets.get(0).canConvertToExactIntegral() || !offsets.get(1).canConvertToExactIntegral()
                    || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
                throw new ModelFormatException(path + ": tensor " + name + " has no valid data_offsets [begin, end]");
            }
            long begin = offsets.get(0).asLong();
            long end = offsets.get(1).asLong();
            long elements = 1;
            for (long d : shape) {
                elements = multiply(path, name, elements, d);
            }
            long bytes = multiply(path, name, elements, type == GgmlType.F32 ? 4 : 2);
            if (begin < 0 || end < begin || end > dataLength || end - begin != bytes) {
                throw new ModelFormatException(path + ": tensor " + name + " (" + type + ", shape "
                        + Arrays.toString(shape) + ", " + bytes + " bytes) has data_offsets [" + begin + ", "
                        + end + "], outside the " + dataLength + " data bytes or of the wrong length");
            }
            tensors.put(name, new Tensor(name, type, shape, file.asSlice(dataStart + begin, bytes)));
        }
        return tensors;
    }

    private static GgmlType dtype(Path path, String name, String dtype) {
        return switch (dtype) {
            case "F32" -> GgmlType.F32;
            case "F16" -> GgmlType.F16;
            case "BF16" -> GgmlType.BF16;
            default -> throw new ModelFormatException(path + ": tensor " + name + " has dtype '" + dtype
                    + "', supported: F32, F16, BF16");
        };
    }

    private static long[] shape(Path path, String name, JsonNode node) {
        if (node == null || !node.isArray() || node.size() > MAX_DIMS) {
            throw new ModelFormatException(path + ": tensor " + name + " has no valid shape (an array of at most "
                    + MAX_DIMS + " sizes)");
        }
        long[] shape = new long[node.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = node.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new ModelFormatException(path + ": tensor " + name + " dimension " + i + " is " + d
                        + ", must be a non-negative integer");
            }
            shape[i] = d.asLong();
        }
        return shape;
    }

    private static long multiply(Path path, String tensor, long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(path + ": tensor " + tensor + " size overflows: " + a + " × " + b);
        }
    }

    /** Reads a JSON object file of at most {@link #MAX_HEADER_BYTES} (config.json, tokenizer.json). */
    public static JsonNode readJsonFile(Path file) {
        return readJson(file, readSmallFile(file));
    }

    /** An empty JSON object, for optional files that are absent. */
    public static JsonNode emptyJson() {
        return JSON.createObjectNode();
    }

    public Path path() {
        return path;
    }

    /** The tensors by name, in file order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}. */
    public Tensor tensor(String name) {
        Tensor tensor = tensors.get(name);
        if (tensor == null) {
            throw new ModelFormatException(path + ": tensor " + name + " is missing");
        }
        return tensor;
    }

    /** Unmaps every file; tensor data must not be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
