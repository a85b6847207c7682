package io.gpud.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.core.JsonFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What one published model version holds: every file, split into chunks, each chunk with
 * its offset, length, CRC32C and SHA-256. Written by {@code gpud model publish} as
 * {@code manifest.json} in the version directory, read before every load.
 *
 * <p>A manifest comes from a shared file system and is treated as untrusted input: the file
 * may be at most {@link #MAX_MANIFEST_BYTES}, every field is required and typed, unknown
 * fields are refused, paths must stay inside the version directory, chunks must tile each
 * file exactly, and the sizes must add up. Every refusal names the field and the value.
 *
 * @param name       the model's name, e.g. {@code llama-3.1-8b}
 * @param version    this version, e.g. {@code 2026-11-01}
 * @param format     {@code gguf}, {@code safetensors} or {@code llama2c}
 * @param entry      the path the engine opens (a file, or {@code .} for the directory)
 * @param tokenizer  a separate tokenizer file, or null
 * @param chunkBytes the chunk size the files were split with
 * @param totalBytes the sum of all file sizes
 * @param files      the files, in the order they are loaded
 */
public record Manifest(String name, String version, String format, String entry, String tokenizer,
                       long chunkBytes, long totalBytes, List<FileEntry> files) {

    /** The manifest's file name inside a version directory. */
    public static final String FILE_NAME = "manifest.json";

    /** Largest manifest accepted: room for about 100 000 chunks. */
    public static final long MAX_MANIFEST_BYTES = 32L << 20;

    /** Most chunks in one manifest. */
    public static final int MAX_CHUNKS = 100_000;

    /** Names and versions: what may appear as one directory name of the store. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    static final Set<String> FORMATS = Set.of("gguf", "safetensors", "llama2c");
    private static final Pattern HEX8 = Pattern.compile("[0-9a-f]{8}");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxStringLength(4096).build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    public Manifest {
        files = List.copyOf(files);
    }

    /**
     * One file of a version.
     *
     * @param path   relative to the version directory, '/'-separated
     * @param size   bytes
     * @param chunks consecutive chunks covering {@code [0, size)}
     */
    public record FileEntry(String path, long size, List<Chunk> chunks) {
        public FileEntry {
            chunks = List.copyOf(chunks);
        }
    }

    /**
     * One chunk of a file.
     *
     * @param index  its position in the file's list
     * @param offset first byte in the file
     * @param length bytes
     * @param crc32c CRC32C of the bytes, 8 lowercase hex digits
     * @param sha256 SHA-256 of the bytes, 64 lowercase hex digits
     */
    public record Chunk(int index, long offset, long length, String crc32c, String sha256) {
        /** The CRC32C as a number. */
        public int crc32cValue() {
            return Integer.parseUnsignedInt(crc32c, 16);
        }
    }

    /** Chunks over all files. */
    public int chunkCount() {
        return files.stream().mapToInt(f -> f.chunks().size()).sum();
    }

    /** Reads and checks {@code <dir>/manifest.json}. */
    public static Manifest read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_MANIFEST_BYTES) {
                throw new ModelFormatException(file + ": manifest is " + size + " bytes, at most "
                        + MAX_MANIFEST_BYTES + " are accepted");
            }
            bytes = Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ModelFormatException(dir + " has no " + FILE_NAME + ": not a published version", e);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + file + ": " + e, e);
        }
        return parse(file.toString(), bytes);
    }

    /** Parses and checks a manifest's bytes; {@code source} names it in errors. */
    public static Manifest parse(String source, byte[] bytes) {
        if (bytes.length > MAX_MANIFEST_BYTES) {
            throw new ModelFormatException(source + ": manifest is " + bytes.length + " bytes, at most "
                    + MAX_MANIFEST_BYTES + " are accepted");
        }
        JsonNode root;
        try (JsonParser parser = JSON.createParser(bytes)) {
            root = JSON.readTree(parser);
            if (parser.nextToken() != null) {
                throw new ModelFormatException(source + ": trailing data after the manifest object");
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelFormatException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(source + ": cannot parse: " + e, e);
        }
        return new Reader(source).manifest(root);
    }

    /** The manifest as JSON, the form {@link #parse} reads. */
    public byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("name", name).put("version", version).put("format", format).put("entry", entry);
        if (tokenizer != null) {
            root.put("tokenizer", tokenizer);
        } else {
            root.putNull("tokenizer");
        }
        root.put("chunkBytes", chunkBytes).put("totalBytes", totalBytes);
        ArrayNode fs = root.putArray("files");
        for (FileEntry f : files) {
            ObjectNode fo = fs.addObject().put("path", f.path()).put("size", f.size());
            ArrayNode cs = fo.putArray("chunks");
            for (Chunk c : f.chunks()) {
                cs.addObject().put("index", c.index()).put("offset", c.offset()).put("length", c.length())
                        .put("crc32c", c.crc32c()).put("sha256", c.sha256());
            }
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ModelFormatException("cannot write manifest of " + name + "@" + version + ": " + e, e);
        }
    }

    /** Walks the JSON tree once, checking as it goes. */
    private record Reader(String source) {

        Manifest manifest(JsonNode root) {
            ObjectNode o = object(root, "manifest");
            only(o, "manifest", "name", "version", "format", "entry", "tokenizer", "chunkBytes", "totalBytes", "files");
            String name = name(o, "name");
            String version = name(o, "version");
            String format = text(o, "format");
            if (!FORMATS.contains(format)) {
                throw fail("format was '" + format + "', must be one of " + FORMATS);
            }
            String entry = text(o, "entry");
            if (!entry.equals(".")) {
                relativePath("entry", entry);
            }
            JsonNode tok = o.get("tokenizer");
            String tokenizer = null;
            if (!tok.isNull()) {
                tokenizer = relativePath("tokenizer", text(o, "tokenizer"));
            }
            long chunkBytes = number(o, "chunkBytes", 4096, 1L << 31);
            long totalBytes = number(o, "totalBytes", 0, Long.MAX_VALUE);
            JsonNode filesNode = o.get("files");
            if (!filesNode.isArray()) {
                throw fail("files must be an array");
            }
            var files = new ArrayList<FileEntry>();
            var paths = new HashSet<String>();
            long sum = 0;
            int chunks = 0;
            for (int i = 0; i < filesNode.size(); i++) {
                FileEntry f = file(filesNode.get(i), i, chunkBytes);
                if (!paths.add(f.path())) {
                    throw fail("files[" + i + "].path '" + f.path() + "' appears twice");
                }
                chunks += f.chunks().size();
                if (chunks > MAX_CHUNKS) {
                    throw fail("more than " + MAX_CHUNKS + " chunks");
                }
                sum = Math.addExact(sum, f.size());
                files.add(f);
            }
            if (sum != totalBytes) {
                throw fail("totalBytes was " + totalBytes + ", the files add up to " + sum);
            }
            if (!entry.equals(".") && !paths.contains(entry)) {
                throw fail("entry '" + entry + "' is not one of the files");
            }
            if (tokenizer != null && !paths.contains(tokenizer)) {
                throw fail("tokenizer '" + tokenizer + "' is not one of the files");
            }
            return new Manifest(name, version, format, entry, tokenizer, chunkBytes, totalBytes, files);
        }

        FileEntry file(JsonNode node, int i, long chunkBytes) {
            String where = "files[" + i + "]";
            ObjectNode o = object(node, where);
            only(o, where, "path", "size", "chunks");
            String path = relativePath(where + ".path", text(o, "path"));
            long size = number(o, "size", 0, 1L << 50);
            JsonNode cs = o.get("chunks");
            if (!cs.isArray()) {
                throw fail(where + ".chunks must be an array");
            }
            long expected = size == 0 ? 0 : (size - 1) / chunkBytes + 1;
            if (cs.size() != expected) {
                throw fail(where + " (" + path + ") has " + cs.size() + " chunks, a file of " + size + " bytes in "
                        + chunkBytes + "-byte chunks has " + expected);
            }
            var chunks = new ArrayList<Chunk>();
            long offset = 0;
            for (int k = 0; k < cs.size(); k++) {
                String cw = where + ".chunks[" + k + "]";
                ObjectNode c = object(cs.get(k), cw);
                only(c, cw, "index", "offset", "length", "crc32c", "sha256");
                long index = number(c, "index", 0, MAX_CHUNKS);
                long off = number(c, "offset", 0, size);
                long len = number(c, "length", 1, chunkBytes);
                if (index != k || off != offset) {
                    throw fail(cw + " has index " + index + " at offset " + off + ", expected index " + k
                            + " at offset " + offset);
                }
                if (len != Math.min(chunkBytes, size - offset)) {
                    throw fail(cw + " has length " + len + ", expected " + Math.min(chunkBytes, size - offset));
                }
                String crc = text(c, "crc32c");
                String sha = text(c, "sha256");
                if (!HEX8.matcher(crc).matches()) {
                    throw fail(cw + ".crc32c was '" + crc + "', must be 8 lowercase hex digits");
                }
                if (!HEX64.matcher(sha).matches()) {
                    throw fail(cw + ".sha256 was '" + sha + "', must be 64 lowercase hex digits");
                }
                chunks.add(new Chunk(k, off, len, crc, sha));
                offset += len;
            }
            return new FileEntry(path, size, chunks);
        }

        String relativePath(String field, String path) {
            if (path.isEmpty() || path.startsWith("/") || path.contains("\\") || path.contains("\0")) {
                throw fail(field + " was '" + path + "', must be a relative path inside the version directory");
            }
            for (String part : path.split("/", -1)) {
                if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                    throw fail(field + " was '" + path + "', must be a relative path inside the version directory");
                }
            }
            if (path.equals(FILE_NAME)) {
                throw fail(field + " was '" + path + "': the manifest cannot list itself");
            }
            return path;
        }

        ObjectNode object(JsonNode node, String where) {
            if (node == null || !node.isObject()) {
                throw fail(where + " must be a JSON object");
            }
            return (ObjectNode) node;
        }

        void only(ObjectNode o, String where, String... fields) {
            Set<String> allowed = Set.of(fields);
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!allowed.contains(f)) {
                    throw fail(where + " has unknown field '" + f + "'");
                }
            }
            for (String f : fields) {
                if (!o.has(f)) {
                    throw fail(where + " lacks field '" + f + "'");
                }
            }
        }

        String text(ObjectNode o, String field) {
            JsonNode v = o.get(field);
            if (!v.isTextual()) {
                throw fail(field + " must be a string, was " + v.getNodeType());
            }
            return v.asText();
        }

        String name(ObjectNode o, String field) {
            String v = text(o, field);
            if (!NAME.matcher(v).matches()) {
                throw fail(field + " was '" + v + "', must be 1 to 128 letters, digits, '.', '_' or '-'");
            }
            return v;
        }

        long number(ObjectNode o, String field, long min, long max) {
            JsonNode v = o.get(field);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw fail(field + " must be an integer, was " + v);
            }
            long n = v.asLong();
            if (n < min || n > max) {
                throw fail(field + " was " + n + ", must be between " + min + " and " + max);
            }
            return n;
        }

        ModelFormatException fail(String message) {
            return new ModelFormatException(source + ": " + message);
        }
    }
}
