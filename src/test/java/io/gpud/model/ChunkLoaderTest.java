package io.gpud.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.core.MonotonicClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ChunkLoaderTest {
    private static final long CHUNK = 64 * 1024;

    @TempDir
    Path root;
    Path dir;
    byte[] weights;
    byte[] tokenizer;
    Manifest manifest;

    @BeforeEach
    void publish() throws IOException {
        dir = Files.createDirectories(root.resolve("tiny").resolve("v1"));
        var random = new Random(7);
        weights = new byte[(int) (10 * CHUNK + 12345)];
        random.nextBytes(weights);
        tokenizer = new byte[1000];
        random.nextBytes(tokenizer);
        Files.write(dir.resolve("model.bin"), weights);
        Files.write(dir.resolve("tokenizer.bin"), tokenizer);
        manifest = ModelStore.publish(dir, CHUNK);
    }

    private ChunkLoader loader(int readers, long subRead, boolean sha, ByteSource source) {
        return new ChunkLoader(new ChunkLoader.Settings(readers, subRead, true, sha, true), source, MonotonicClock.system());
    }

    @Test
    void combinedCrcsEqualTheCrcOfTheConcatenation() {
        var random = new Random(1);
        for (int trial = 0; trial < 200; trial++) {
            byte[] a = new byte[random.nextInt(3000)];
            byte[] b = new byte[random.nextInt(3000)];
            random.nextBytes(a);
            random.nextBytes(b);
            assertEquals(crc(concat(a, b)), Crc32c.combine(crc(a), crc(b), b.length), "trial " + trial);
        }
    }

    @Test
    void everyChunkReachesTheListenerOnceWithItsBytes() {
        var seen = new ConcurrentHashMap<String, byte[]>();
        LoadOutcome outcome = loader(8, 4096 + 17, true, ByteSource.files()).load(dir, manifest, c -> {
            byte[] copy = c.bytes().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            assertEquals(null, seen.put(c.file().path() + "#" + c.chunk().index(), copy), "chunk delivered twice");
        });
        var loaded = assertInstanceOf(LoadOutcome.Loaded.class, outcome);
        assertEquals(weights.length + tokenizer.length, loaded.bytes());
        assertEquals(manifest.chunkCount(), seen.size());
        for (Manifest.Chunk c : manifest.files().get(0).chunks()) {
            byte[] expected = Arrays.copyOfRange(weights, (int) c.offset(), (int) (c.offset() + c.length()));
            assertTrue(Arrays.equals(expected, seen.get("model.bin#" + c.index())), "chunk " + c.index());
        }
        assertEquals(8, loaded.readerBusy().size());
    }

    @Test
    void oneReaderAndChunkSizedReadsWorkToo() {
        assertInstanceOf(LoadOutcome.Loaded.class, loader(1, CHUNK, false, ByteSource.files())
                .load(dir, manifest, ChunkListener.NONE));
    }

    @Test
    void throttledSourceDeliversTheSameBytes() {
        var source = new ThrottledByteSource(ByteSource.files(), 50L << 20, MonotonicClock.system());
        assertInstanceOf(LoadOutcome.Loaded.class, loader(4, 8192, true, source).load(dir, manifest,
                ChunkListener.NONE));
    }

    @ParameterizedTest
    @EnumSource(FakeFaultySource.Fault.class)
    void aFaultInChunkKFailsTheLoadNamingChunkK(FakeFaultySource.Fault fault) {
        int k = 6;
        long offset = k * CHUNK + 777;
        var progress = new java.util.concurrent.atomic.AtomicInteger();
        LoadOutcome outcome = loader(8, 4096, false, new FakeFaultySource("model.bin", offset, fault))
                .load(dir, manifest, c -> progress.incrementAndGet());
        var failed = assertInstanceOf(LoadOutcome.Failed.class, outcome);
        assertEquals("model.bin", failed.file());
        assertEquals(k, failed.chunk(), failed.describe());
        switch (fault) {
            case SHORT_READ -> assertTrue(failed.reason().startsWith("short read"), failed.reason());
            case IO_ERROR -> assertTrue(failed.reason().contains("simulated EIO"), failed.reason());
            case FLIPPED_BYTE -> {
                assertTrue(failed.reason().startsWith("CRC32C mismatch"), failed.reason());
                assertEquals(k * CHUNK, failed.offset());
            }
        }
        if (fault == FakeFaultySource.Fault.SHORT_READ) {
            assertEquals(offset, failed.offset(), "where the file ended");
        } else if (fault == FakeFaultySource.Fault.IO_ERROR) {
            assertEquals(offset - offset % 4096, failed.offset(), "the failed read's start");
        }
    }

    @ParameterizedTest
    @EnumSource(FakeFaultySource.Fault.class)
    void withoutStagingAFaultInChunkKFailsTheLoadToo(FakeFaultySource.Fault fault) {
        int k = 9;
        LoadOutcome outcome = loader(3, 4096, false, new FakeFaultySource("model.bin", k * CHUNK + 5, fault))
                .load(dir, manifest, ChunkListener.NONE);
        var failed = assertInstanceOf(LoadOutcome.Failed.class, outcome);
        assertEquals(k, failed.chunk(), failed.describe());
    }

    @Test
    void sha256CatchesWhatItIsAskedToWhenTheCrcIsForged() throws IOException {
        // a manifest whose CRC matches the tampered bytes but whose SHA-256 does not
        weights[(int) (3 * CHUNK)] ^= 0x40;
        Files.write(dir.resolve("model.bin"), weights);
        var chunks = new java.util.ArrayList<>(manifest.files().get(0).chunks());
        Manifest.Chunk c3 = chunks.get(3);
        var crc = new CRC32C();
        crc.update(weights, (int) c3.offset(), (int) c3.length());
        chunks.set(3, new Manifest.Chunk(3, c3.offset(), c3.length(), String.format("%08x", crc.getValue()), c3.sha256()));
        var files = new java.util.ArrayList<>(manifest.files());
        files.set(0, new Manifest.FileEntry("model.bin", weights.length, chunks));
        var forged = new Manifest(manifest.name(), manifest.version(), manifest.format(), manifest.entry(),
                manifest.tokenizer(), manifest.chunkBytes(), manifest.totalBytes(), files);
        assertInstanceOf(LoadOutcome.Loaded.class, loader(4, 4096, false, ByteSource.files())
                .load(dir, forged, ChunkListener.NONE));
        var failed = assertInstanceOf(LoadOutcome.Failed.class, loader(4, 4096, true, ByteSource.files())
                .load(dir, forged, ChunkListener.NONE));
        assertEquals(3, failed.chunk());
        assertTrue(failed.reason().startsWith("SHA-256 mismatch"), failed.reason());
    }

    @Test
    void aThrowingListenerFailsTheLoadNamingTheChunk() {
        var failed = assertInstanceOf(LoadOutcome.Failed.class, loader(2, 4096, false, ByteSource.files())
                .load(dir, manifest, c -> {
                    if (c.file().path().equals("tokenizer.bin")) {
                        throw new IllegalStateException("device out of memory");
                    }
                }));
        assertEquals("tokenizer.bin", failed.file());
        assertTrue(failed.reason().contains("device out of memory"), failed.reason());
    }

    @Test
    void aFileOfTheWrongSizeFailsBeforeReading() throws IOException {
        Files.write(dir.resolve("tokenizer.bin"), new byte[999]);
        var failed = assertInstanceOf(LoadOutcome.Failed.class, loader(2, 4096, false, ByteSource.files())
                .load(dir, manifest, ChunkListener.NONE));
        assertEquals("tokenizer.bin", failed.file());
        assertTrue(failed.reason().contains("999 bytes, the manifest says 1000"), failed.reason());
    }

    private static int crc(byte[] b) {
        var c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
