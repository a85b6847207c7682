package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.gpud.config.EngineConfig;
import io.gpud.model.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Batching is invisible in results: eight greedy requests submitted at once, with different
 * prompts and lengths, return exactly the ids each returns alone, whether they all share
 * the batch, prompts are cut into chunks, or the KV budget lets only some run at a time.
 */
class ContinuousBatchingTest {
    private static final int REQUESTS = 8;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}, {1} threads, batch of {2} tokens, KV budget {3} bytes")
    @CsvSource({
        "F32, 2, 64, 1073741824",
        "Q4_0, 1, 8, 1073741824",
        "Q8_0, 2, 8, 65536",
    })
    void concurrentGreedyRequestsEqualEachAlone(GgmlType type, int threads, int maxBatchTokens, long kvBytes) {
        Path file = DemoModelFixture.write(dir, type);
        List<GenerationRequest> requests = requests();

        var alone = new ArrayList<int[]>();
        try (Engine engine = CpuBackend.load(file, null, "demo", EngineConfig.limits(0, 1, 64))) {
            for (GenerationRequest request : requests) {
                var listener = new RecordingListener();
                assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
                listener.await();
                alone.add(listener.tokenArray());
            }
        }

        var config = new EngineConfig(REQUESTS, REQUESTS, 64, threads, kvBytes, maxBatchTokens);
        try (Engine engine = CpuBackend.load(file, null, "demo", config)) {
            var listeners = new ArrayList<RecordingListener>();
            for (GenerationRequest request : requests) {
                var listener = new RecordingListener();
                assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
                listeners.add(listener);
            }
            for (int i = 0; i < REQUESTS; i++) {
                Completion completion = listeners.get(i).await();
                assertEquals(requests.get(i).maxTokens(), completion.completionTokens(), "request " + i);
                assertArrayEquals(alone.get(i), listeners.get(i).tokenArray(), "request " + i);
            }
            assertEquals(0, engine.inFlight());
        }
    }

    private static List<GenerationRequest> requests() {
        var random = new SplittableRandom(7);
        var requests = new ArrayList<GenerationRequest>();
        for (int i = 0; i < REQUESTS; i++) {
            int[] prompt = new int[1 + random.nextInt(20)];
            prompt[0] = 1;
            for (int t = 1; t < prompt.length; t++) {
                prompt[t] = DemoModel.BYTE_TOKEN_OFFSET + 'a' + random.nextInt(26);
            }
            requests.add(new GenerationRequest("r" + i, prompt, 10 + random.nextInt(30), Sampling.greedy(), List.of(),
                    true));
        }
        return requests;
    }
}
