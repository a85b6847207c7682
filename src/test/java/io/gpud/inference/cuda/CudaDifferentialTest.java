package io.gpud.inference.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.gpud.config.EngineConfig;
import io.gpud.inference.Admission;
import io.gpud.inference.Completion;
import io.gpud.inference.CpuBackend;
import io.gpud.inference.CpuReference;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.LlamaModel;
import io.gpud.inference.Sampling;
import io.gpud.inference.SimModels;
import io.gpud.model.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CUDA backend against the CPU engine, on a device; every test is skipped, with the
 * probe's reason, where no usable GPU is present.
 *
 * <p>Bounds: greedy ids are identical for F32 and F16 models; for every type the logits
 * of each step, along the CPU's greedy path, are within 1e-3 × (1 + max |CPU logit|) of
 * the CPU's. The kernels widen F16/BF16 exactly and Q8_0's scale × quant is exact in
 * float32, so the two sides differ only in the order of float32 sums.
 */
class CudaDifferentialTest {
    private static final Path STORIES = Path.of("../shared/models/stories260K.bin");
    private static CudaAvailability.Usable device;

    @BeforeAll
    static void findDevice() {
        CudaAvailability here = CudaProbe.probe();
        if (here instanceof CudaAvailability.Unusable u) {
            System.out.println("CudaDifferentialTest: skipped, no usable CUDA device: " + u.reason());
        }
        assumeTrue(here instanceof CudaAvailability.Usable, () -> "no usable CUDA device: "
                + ((CudaAvailability.Unusable) here).reason());
        device = (CudaAvailability.Usable) here;
    }

    private static Path randomModel(Path dir, GgmlType type, int dim, int hidden) {
        return SimModels.write(dir.resolve("r-" + type + "-" + dim + "-" + hidden + ".gguf"), type, dim, hidden, 2, 4,
                2, 512, null, 11);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16"})
    void greedyIdsMatchTheCpuEngine(GgmlType type, @TempDir Path dir) throws Exception {
        // 128/256: the 128-bit paths; 64/172: rows whose length is no multiple of 8 (scalar tails)
        for (Path model : List.of(randomModel(dir, type, 128, 256), randomModel(dir, type, 64, 172))) {
            List<int[]> prompts = prompts(8);
            List<List<Integer>> cpu = new ArrayList<>();
            try (Engine engine = CpuBackend.load(model, null, "m", EngineConfig.limits(16, 1, 24))) {
                for (int[] prompt : prompts) {
                    cpu.add(generate(engine, List.of(prompt), 24).getFirst());
                }
            }
            // prompts of up to 19 tokens in chunks of 8 rows, 8 sequences decoding together (the graph of 8)
            var config = new EngineConfig(16, 8, 24, 1, 64L << 20, 8, EngineConfig.Backend.CUDA);
            try (Engine engine = Backends.load(model, null, "m", config, reason -> { })) {
                assertTrue(engine.device().startsWith("cuda:"), engine.device());
                List<List<Integer>> gpu = generate(engine, prompts, 24);
                assertEquals(cpu, gpu, model + ": greedy ids of 8 sequences batched on the GPU");
                assertTrue(engine.quarantineReason().isEmpty());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0"})
    void logitsStayWithinTheStatedBound(GgmlType type, @TempDir Path dir) {
        Path model = randomModel(dir, type, 128, 256);
        int[] path = cpuGreedyPath(model, new int[] {1, 17, 42, 99}, 20);
        float[][] cpu = CpuReference.logitsAlong(model, path);
        try (LlamaModel m = LlamaModel.load(model, null, "m");
             var forward = new CudaForward(device, WeightSource.of(m), KernelImage.load(), 2, 64, 8)) {
            int vocab = m.dimensions().vocabSize();
            float[] prompt = new float[vocab];
            forward.prefill(0, path, 0, 4, prompt);
            assertClose(cpu[3], prompt, "prompt (4 rows in one chunk)");
            float[][] out = new float[1][vocab];
            for (int t = 4; t < path.length; t++) {
                forward.decode(1, new int[] {path[t]}, new int[] {t}, new int[] {0}, out);
                assertClose(cpu[t], out[0], type + " step at position " + t);
            }
            assertInstanceOf(CudaForward.Hygiene.Clean.class, forward.scrub(0));
            assertInstanceOf(CudaForward.Hygiene.Clean.class, forward.scrubAll());
        }
    }

    /** A row's logits do not depend on the batch it runs in: graphs of 1, 8 and 32 rows agree bit for bit. */
    @Test
    void paddedBatchesGiveEveryRowTheLogitsItGetsAlone(@TempDir Path dir) {
        Path model = randomModel(dir, GgmlType.F16, 128, 256);
        try (LlamaModel m = LlamaModel.load(model, null, "m");
             var forward = new CudaForward(device, WeightSource.of(m), KernelImage.load(), 32, 16, 8)) {
            int vocab = m.dimensions().vocabSize();
            float[][] alone = new float[1][vocab];
            forward.decode(1, new int[] {7}, new int[] {0}, new int[] {0}, alone);
            for (int rows : new int[] {5, 20, 32}) {
                int[] tokens = new int[rows];
                int[] positions = new int[rows];
                int[] slots = new int[rows];
                for (int r = 0; r < rows; r++) {
                    tokens[r] = r == rows - 1 ? 7 : 100 + r;
                    slots[r] = r == rows - 1 ? 0 : r + 1;
                }
                float[][] out = new float[rows][vocab];
                forward.decode(rows, tokens, positions, slots, out);
                assertArrayEquals(alone[0], out[rows - 1], "row " + (rows - 1) + " of " + rows);
            }
        }
    }

    @Test
    void stories260kGreedyIdsMatchTheCpuEngine() throws Exception {
        assumeTrue(Files.exists(STORIES), "../shared/models/stories260K.bin is absent");
        List<int[]> prompts = List.of(new int[] {1}, new int[] {1, 403, 261}, new int[] {1, 320});
        List<List<Integer>> cpu = new ArrayList<>();
        try (Engine engine = CpuBackend.load(STORIES, null, null, EngineConfig.limits(4, 1, 200))) {
            for (int[] prompt : prompts) {
                cpu.add(generate(engine, List.of(prompt), 200).getFirst());
            }
        }
        var config = EngineConfig.limits(4, 4, 200).withBackend(EngineConfig.Backend.CUDA);
        try (Engine engine = Backends.load(STORIES, null, null, config, reason -> { })) {
            assertEquals(cpu, generate(engine, prompts, 200));
        }
    }

    private static int[] cpuGreedyPath(Path model, int[] prompt, int tokens) {
        try (Engine engine = CpuBackend.load(model, null, "m", EngineConfig.limits(1, 1, tokens))) {
            List<Integer> ids = generate(engine, List.of(prompt), tokens).getFirst();
            int[] path = Arrays.copyOf(prompt, prompt.length + ids.size() - 1);
            for (int i = 0; i < ids.size() - 1; i++) {
                path[prompt.length + i] = ids.get(i);
            }
            return path;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        float max = 0;
        for (float v : expected) {
            max = Math.max(max, Math.abs(v));
        }
        float bound = 1e-3f * (1 + max);
        for (int i = 0; i < expected.length; i++) {
            float diff = Math.abs(expected[i] - actual[i]);
            assertTrue(diff <= bound, what + ": logit " + i + " is " + actual[i] + ", CPU " + expected[i] + ", bound "
                    + bound);
        }
    }

    private static List<int[]> prompts(int n) {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] p = new int[1 + i * 3 % 19];
            for (int j = 0; j < p.length; j++) {
                p[j] = (i * 37 + j * 11) % 512;
            }
            prompts.add(p);
        }
        return prompts;
    }

    /** Submits every prompt at once, greedy, ignoring end tokens; returns each one's ids. */
    static List<List<Integer>> generate(Engine engine, List<int[]> prompts, int tokens) throws Exception {
        List<List<Integer>> ids = new ArrayList<>();
        List<CompletableFuture<Completion>> done = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            List<Integer> out = new CopyOnWriteArrayList<>();
            var finished = new CompletableFuture<Completion>();
            ids.add(out);
            done.add(finished);
            var request = new GenerationRequest("r" + i, prompts.get(i), tokens, Sampling.greedy(), List.of(), true);
            assertInstanceOf(Admission.Accepted.class, engine.submit(request, new GenerationListener() {
                @Override
                public void onToken(int token, String text) {
                    out.add(token);
                }

                @Override
                public void onDone(Completion completion) {
                    finished.complete(completion);
                }

                @Override
                public void onFailure(RuntimeException error) {
                    finished.completeExceptionally(error);
                }
            }));
        }
        for (var f : done) {
            f.get(120, TimeUnit.SECONDS);
        }
        return ids.stream().map(List::copyOf).toList();
    }
}
