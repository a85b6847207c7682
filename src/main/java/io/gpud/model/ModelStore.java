package io.gpud.model;

import io.gpud.core.Ids;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The model store: a directory tree, usually on a shared file system (FSx for Lustre).
 *
 * <pre>
 * &lt;root&gt;/&lt;name&gt;/&lt;version&gt;/manifest.json   one published version, never changed again
 * &lt;root&gt;/&lt;name&gt;/&lt;version&gt;/...             its files
 * &lt;root&gt;/&lt;name&gt;/current                   the version to serve, one line
 * </pre>
 *
 * <p>A version is published by writing its files, then {@link #publish} writes the manifest
 * (to a temporary name, then renamed, so a reader sees a whole manifest or none) and, if
 * asked, moves {@code current} the same way. Readers never see a half-written version: a
 * directory without a manifest is not a version.
 */
public final class ModelStore {
    private static final int READ_BYTES = 8 << 20;

    private final Path root;

    public ModelStore(Path root) {
        this.root = root;
    }

    /** The store's root directory. */
    public Path root() {
        return root;
    }

    /** Where {@code name@version} lives. */
    public Path versionDir(String name, String version) {
        checkName("model name", name);
        checkName("version", version);
        return root.resolve(name).resolve(version);
    }

    /** The version {@code current} names, or empty when there is no pointer. */
    public Optional<String> current(String name) {
        checkName("model name", name);
        Path pointer = root.resolve(name).resolve("current");
        try {
            if (Files.size(pointer) > 256) {
                throw new ModelFormatException(pointer + " is " + Files.size(pointer) + " bytes; a pointer is one line");
            }
            String version = Files.readString(pointer, StandardCharsets.UTF_8).strip();
            checkName(pointer + ": version", version);
            return Optional.of(version);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + pointer + ": " + e, e);
        }
    }

    /** Points {@code current} at {@code version}, atomically (write a temporary file, rename). */
    public void setCurrent(String name, String version) {
        Path dir = versionDir(name, version);
        if (!Files.isRegularFile(dir.resolve(Manifest.FILE_NAME))) {
            throw new ModelFormatException(dir + " is not a published version (no " + Manifest.FILE_NAME + ")");
        }
        writeAtomically(root.resolve(name).resolve("current"),
                (version + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Writes the manifest of the version directory {@code dir} (whose last two path elements
     * are the model's name and version), split in {@code chunkBytes} chunks.
     *
     * @throws ModelFormatException if the directory is already published, holds no model
     *                              file this node can serve, or cannot be read
     */
    public static Manifest publish(Path dir, long chunkBytes) {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) {
            throw new ModelFormatException(dir + " is not a directory");
        }
        if (abs.getParent() == null || abs.getParent().getFileName() == null) {
            throw new ModelFormatException(dir + " must be <root>/<name>/<version>");
        }
        String version = abs.getFileName().toString();
        String name = abs.getParent().getFileName().toString();
        checkName("model name (directory " + abs.getParent() + ")", name);
        checkName("version (directory " + abs + ")", version);
        if (Files.exists(abs.resolve(Manifest.FILE_NAME))) {
            throw new ModelFormatException(abs + " is already published: versions are immutable, publish a new one");
        }
        if (chunkBytes < 4096 || chunkBytes > 1L << 31) {
            throw new ModelFormatException("chunk size was " + chunkBytes + ", must be 4096 to 2^31");
        }
        List<String> paths = files(abs);
        var entries = new ArrayList<Manifest.FileEntry>();
        long total = 0;
        for (String p : paths) {
            Manifest.FileEntry e = checksum(abs, p, chunkBytes);
            entries.add(e);
            total += e.size();
        }
        Layout layout = layout(abs, paths);
        var manifest = new Manifest(name, version, layout.format, layout.entry, layout.tokenizer, chunkBytes, total,
                entries);
        Manifest.parse(abs.resolve(Manifest.FILE_NAME).toString(), manifest.toJson());
        writeAtomically(abs.resolve(Manifest.FILE_NAME), manifest.toJson());
        return manifest;
    }

    /** Publishes {@code dir} and points {@code current} at it. */
    public static Manifest publishAndSetCurrent(Path dir, long chunkBytes) {
        Manifest m = publish(dir, chunkBytes);
        Path abs = dir.toAbsolutePath().normalize();
        new ModelStore(abs.getParent().getParent()).setCurrent(m.name(), m.version());
        return m;
    }

    /**
     * Reads every file of the version directory {@code dir} and checks CRC32C and SHA-256
     * of every chunk against its manifest, with {@code readers} parallel readers. Returns
     * the earliest failure in file order, or {@link LoadOutcome.Loaded}.
     */
    public static LoadOutcome verify(Path dir, int readers) {
        Manifest manifest = Manifest.read(dir);
        var loader = new ChunkLoader(new ChunkLoader.Settings(readers, READ_BYTES, true, true, false), ByteSource.files(),
                io.gpud.core.MonotonicClock.system());
        return loader.load(dir, manifest, ChunkListener.NONE);
    }

    private record Layout(String format, String entry, String tokenizer) {
    }

    /** Which format the files are, and what the engine opens. */
    private static Layout layout(Path dir, List<String> paths) {
        List<String> gguf = paths.stream().filter(p -> p.endsWith(".gguf")).toList();
        if (gguf.size() == 1) {
            return new Layout("gguf", gguf.getFirst(), null);
        }
        if (gguf.size() > 1) {
            throw new ModelFormatException(dir + " holds " + gguf.size() + " .gguf files " + gguf + "; a version holds one");
        }
        if (paths.contains("model.safetensors") || paths.contains("model.safetensors.index.json")) {
            return new Layout("safetensors", ".", null);
        }
        List<String> bins = paths.stream().filter(p -> p.endsWith(".bin") && !p.equals("tokenizer.bin")).toList();
        if (bins.size() == 1) {
            return new Layout("llama2c", bins.getFirst(), paths.contains("tokenizer.bin") ? "tokenizer.bin" : null);
        }
        throw new ModelFormatException(dir + " holds no model this node can serve: expected one .gguf file, "
                + "model.safetensors(.index.json), or one llama2.c .bin; found " + paths);
    }

    private static List<String> files(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile)
                    .map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> !p.equals(Manifest.FILE_NAME) && !p.endsWith(".partial"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new ModelFormatException("cannot list " + dir + ": " + e, e);
        }
    }

    /** Reads one file in order, computing each chunk's CRC32C and SHA-256. */
    private static Manifest.FileEntry checksum(Path dir, String path, long chunkBytes) {
        Path file = dir.resolve(path);
        var chunks = new ArrayList<Manifest.Chunk>();
        ByteBuffer buffer = ByteBuffer.allocateDirect(READ_BYTES);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            for (long offset = 0; offset < size; offset += chunkBytes) {
                long length = Math.min(chunkBytes, size - offset);
                var crc = new CRC32C();
                MessageDigest sha = ChunkLoader.sha256();
                long done = 0;
                while (done < length) {
                    buffer.clear().limit((int) Math.min(READ_BYTES, length - done));
                    int n = ch.read(buffer, offset + done);
                    if (n < 0) {
                        throw new ModelFormatException(file + " shrank while being published: ended at "
                                + (offset + done) + " of " + size + " bytes");
                    }
                    buffer.flip();
                    crc.update(buffer.duplicate());
                    sha.update(buffer);
                    done += n;
                }
                chunks.add(new Manifest.Chunk(chunks.size(), offset, length,
                        String.format("%08x", crc.getValue()), HexFormat.of().formatHex(sha.digest())));
            }
            return new Manifest.FileEntry(path, size, chunks);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + file + ": " + e, e);
        }
    }

    private static void writeAtomically(Path target, byte[] bytes) {
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + Ids.random("", 8) + ".partial");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new ModelFormatException("the file system of " + target + " cannot rename atomically", e);
            }
        } catch (IOException e) {
            throw new ModelFormatException("cannot write " + target + ": " + e, e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the rename either happened or the error above is the one to report
            }
        }
    }

    static void checkName(String what, String value) {
        if (value == null || !Manifest.NAME.matcher(value).matches()) {
            throw new ModelFormatException(what + " was '" + value
                    + "', must be 1 to 128 letters, digits, '.', '_' or '-', not starting with '.', '_' or '-'");
        }
    }
}
