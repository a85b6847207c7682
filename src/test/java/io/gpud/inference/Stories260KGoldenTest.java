package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.gpud.config.EngineConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Greedy decoding of stories260K must give exactly the token ids of llama2.c's reference
 * {@code run.c} (recorded in {@code stories260K-greedy-100.txt}).
 */
class Stories260KGoldenTest {
    private static final Path MODEL = Path.of("../shared/models/stories260K.bin");

    @Test
    void greedyIdsMatchLlama2cReference() throws IOException {
        Assumptions.assumeTrue(Files.exists(MODEL),
                "skipped: " + MODEL.toAbsolutePath().normalize() + " is absent (the llama2.c stories260K model)");
        int[] expected = readGolden();
        try (Engine engine = CpuBackend.load(MODEL, null, null, EngineConfig.limits(1, 1, 256))) {
            assertEquals("stories260K", engine.info().name());
            var listener = new RecordingListener();
            var request = new GenerationRequest("golden", new int[] {1}, expected.length, Sampling.greedy(), List.of(),
                    false);
            assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
            Completion completion = listener.await();
            assertArrayEquals(expected, listener.tokenArray());
            assertEquals(FinishReason.LENGTH, completion.finishReason());
            assertEquals(expected.length, completion.completionTokens());
        }
    }

    private static int[] readGolden() throws IOException {
        try (InputStream in = Stories260KGoldenTest.class.getResourceAsStream("stories260K-greedy-100.txt")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return text.lines()
                    .filter(line -> !line.startsWith("#") && !line.isBlank())
                    .flatMap(line -> Arrays.stream(line.trim().split("\\s+")))
                    .mapToInt(Integer::parseInt)
                    .toArray();
        }
    }
}
