package io.gpud.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelStoreTest {
    @TempDir
    Path root;

    private Path version(String name, String version, int bytes) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name).resolve(version));
        byte[] data = new byte[bytes];
        new Random(bytes).nextBytes(data);
        Files.write(dir.resolve("weights.gguf"), data);
        return dir;
    }

    @Test
    void publishWritesAManifestThatReadsBackAndMovesCurrent() throws IOException {
        Path dir = version("llama", "v1", 10_000);
        Manifest m = ModelStore.publishAndSetCurrent(dir, 4096);
        assertEquals("llama", m.name());
        assertEquals("v1", m.version());
        assertEquals("gguf", m.format());
        assertEquals("weights.gguf", m.entry());
        assertEquals(10_000, m.totalBytes());
        assertEquals(3, m.chunkCount());
        assertEquals(m, Manifest.read(dir));
        var store = new ModelStore(root);
        assertEquals(Optional.of("v1"), store.current("llama"));
        ModelStore.publish(version("llama", "v2", 5000), 4096);
        assertEquals(Optional.of("v1"), store.current("llama"), "--no-current leaves the pointer");
        store.setCurrent("llama", "v2");
        assertEquals(Optional.of("v2"), store.current("llama"));
        try (var files = Files.list(root.resolve("llama"))) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".partial")));
        }
    }

    @Test
    void versionsAreImmutableAndPointersOnlyNamePublishedOnes() throws IOException {
        Path dir = version("llama", "v1", 100);
        ModelStore.publish(dir, 4096);
        assertThrows(ModelFormatException.class, () -> ModelStore.publish(dir, 4096));
        Files.createDirectories(root.resolve("llama").resolve("v9"));
        var e = assertThrows(ModelFormatException.class, () -> new ModelStore(root).setCurrent("llama", "v9"));
        assertTrue(e.getMessage().contains("not a published version"), e.getMessage());
        assertThrows(ModelFormatException.class, () -> new ModelStore(root).current("../etc"));
    }

    @Test
    void verifyNamesTheFirstBadFileChunkAndOffset() throws IOException {
        Path dir = version("llama", "v1", 5 * 4096 + 10);
        ModelStore.publish(dir, 4096);
        assertInstanceOf(LoadOutcome.Loaded.class, ModelStore.verify(dir, 4));
        byte[] data = Files.readAllBytes(dir.resolve("weights.gguf"));
        data[3 * 4096 + 5] ^= 1;
        data[4 * 4096 + 5] ^= 1;
        Files.write(dir.resolve("weights.gguf"), data);
        var failed = assertInstanceOf(LoadOutcome.Failed.class, ModelStore.verify(dir, 4));
        assertEquals("weights.gguf", failed.file());
        assertEquals(3, failed.chunk());
        assertEquals(3 * 4096, failed.offset());

        var err = new StringWriter();
        var cli = new picocli.CommandLine(new io.gpud.cli.Main());
        cli.setErr(new PrintWriter(err));
        assertEquals(1, cli.execute("model", "verify", dir.toString()));
        assertTrue(err.toString().contains("weights.gguf chunk 3 at offset 12288"), err.toString());
    }

    @Test
    void malformedManifestsAreRefusedWithTheFieldNamed() throws IOException {
        Path dir = version("llama", "v1", 9000);
        String good = new String(ModelStore.publish(dir, 4096).toJson(), StandardCharsets.UTF_8);
        assertRefused(good.replace("\"totalBytes\" : 9000", "\"totalBytes\" : 9001"), "totalBytes was 9001");
        assertRefused(good.replace("\"path\" : \"weights.gguf\"", "\"path\" : \"../weights.gguf\""), "relative path");
        assertRefused(good.replace("\"format\" : \"gguf\"", "\"format\" : \"onnx\""), "format was 'onnx'");
        assertRefused(good.replace("\"name\" : \"llama\"", "\"name\" : \"llama\", \"extra\" : 1"), "unknown field 'extra'");
        assertRefused(good.replace("\"offset\" : 4096", "\"offset\" : 4095"), "expected index 1 at offset 4096");
        assertRefused(good.replaceFirst("\"crc32c\" : \"[0-9a-f]{8}\"", "\"crc32c\" : \"XYZ\""), "crc32c was 'XYZ'");
        assertRefused(good.replace("\"size\" : 9000", "\"size\" : \"9000\""), "size must be an integer");
        assertRefused(good + "{}", "trailing data");
        assertRefused("[", "not valid JSON");
        assertRefused("[]", "manifest must be a JSON object");
        assertRefused("{\"name\":\"a\",\"name\":\"b\"}", "not valid JSON");
        assertRefused("[".repeat(100_000), "not valid JSON");
        byte[] huge = new byte[(int) Manifest.MAX_MANIFEST_BYTES + 1];
        var e = assertThrows(ModelFormatException.class, () -> Manifest.parse("m", huge));
        assertTrue(e.getMessage().contains("at most"), e.getMessage());
    }

    private static void assertRefused(String json, String expected) {
        var e = assertThrows(ModelFormatException.class,
                () -> Manifest.parse("m.json", json.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
