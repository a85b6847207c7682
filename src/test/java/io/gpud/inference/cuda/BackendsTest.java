package io.gpud.inference.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.EngineConfig;
import io.gpud.inference.Admission;
import io.gpud.inference.ArchitectureFixture;
import io.gpud.inference.Completion;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.Sampling;
import io.gpud.inference.SimModels;
import io.gpud.model.GgmlType;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which backend a model lands on, and the CPU fallback when no GPU is usable. */
class BackendsTest {
    private static final CudaAvailability NO_DRIVER = new CudaAvailability.Unusable("no NVIDIA driver: test");
    private static final CudaAvailability.Usable H100 =
            new CudaAvailability.Usable(0, "NVIDIA H100", 9, 0, 80L << 30, 12060);

    @Test
    void choiceFollowsTheConfiguredBackendAndTheHost() {
        assertEquals(new Backends.Choice.Cpu(null), Backends.choose(EngineConfig.Backend.CPU, () -> {
            throw new AssertionError("the cpu backend must not probe for a GPU");
        }));
        assertEquals(new Backends.Choice.Gpu(H100, true), Backends.choose(EngineConfig.Backend.AUTO, () -> H100));
        assertEquals(new Backends.Choice.Gpu(H100, false), Backends.choose(EngineConfig.Backend.CUDA, () -> H100));
        assertEquals(new Backends.Choice.Cpu("no NVIDIA driver: test"),
                Backends.choose(EngineConfig.Backend.AUTO, () -> NO_DRIVER));
        assertEquals(new Backends.Choice.Sim(), Backends.choose(EngineConfig.Backend.SIM, () -> {
            throw new AssertionError("the simulated GPU must not probe for a real one");
        }));
        var refuse = assertInstanceOf(Backends.Choice.Refuse.class,
                Backends.choose(EngineConfig.Backend.CUDA, () -> NO_DRIVER));
        assertTrue(refuse.reason().contains("engine.backend is cuda") && refuse.reason().contains("no NVIDIA driver"),
                refuse.reason());
    }

    @Test
    void aMissingDriverLibraryIsAReasonNotAnError() {
        var unusable = assertInstanceOf(CudaAvailability.Unusable.class,
                CudaProbe.probe("libcuda-absent-for-this-test.so.1", "Linux", "amd64"));
        assertTrue(unusable.reason().contains("libcuda-absent-for-this-test.so.1"), unusable.reason());
        var otherPlatform = assertInstanceOf(CudaAvailability.Unusable.class,
                CudaProbe.probe(CudaProbe.DRIVER_LIBRARY, "Mac OS X", "aarch64"));
        assertTrue(otherPlatform.reason().contains("linux-x86_64"), otherPlatform.reason());
    }

    @Test
    void theRealProbeAnswersWithoutThrowing() {
        CudaAvailability here = CudaProbe.probe();
        switch (here) {
            case CudaAvailability.Usable u -> assertTrue(u.computeMajor() >= 8, u.toString());
            case CudaAvailability.Unusable u -> assertTrue(!u.reason().isBlank());
        }
        System.out.println("BackendsTest: this host: " + here);
    }

    @Test
    void autoFallsBackToTheCpuEngineAndServes(@TempDir Path dir) throws Exception {
        Path model = SimModels.write(dir.resolve("m.gguf"), GgmlType.F32, 64, 128, 1, 4, 2, 32, null, 1);
        var config = EngineConfig.limits(4, 2, 8).withBackend(EngineConfig.Backend.AUTO);
        try (Engine engine = Backends.load(model, null, "m", config, () -> NO_DRIVER, reason -> { })) {
            assertEquals("cpu", engine.device());
            assertEquals(5, generate(engine, 5));
        }
    }

    @Test
    void cudaWithoutAGpuRefusesToLoad(@TempDir Path dir) {
        Path model = SimModels.write(dir.resolve("m.gguf"), GgmlType.F32, 64, 128, 1, 4, 2, 32, null, 1);
        var config = EngineConfig.limits(4, 2, 8).withBackend(EngineConfig.Backend.CUDA);
        var e = assertThrows(CudaBackendException.class,
                () -> Backends.load(model, null, "m", config, () -> NO_DRIVER, reason -> { }));
        assertTrue(e.getMessage().contains("no NVIDIA driver"), e.getMessage());
    }

    @Test
    void simServesOnTheSimulatedGpuWithoutProbingForARealOne(@TempDir Path dir) throws Exception {
        Path model = SimModels.write(dir.resolve("m.gguf"), GgmlType.F32, 64, 128, 1, 4, 2, 32, null, 1);
        var config = EngineConfig.limits(4, 2, 8).withBackend(EngineConfig.Backend.SIM);
        try (Engine engine = Backends.load(model, null, "m", config, () -> H100, reason -> { })) {
            assertTrue(engine.device().startsWith("sim "), engine.device());
            assertEquals(32, engine.info().vocabSize());
            assertEquals(5, generate(engine, 5));
        }
    }

    /**
     * A model with K-quant weights, which have no CUDA kernels: auto serves it on the CPU
     * even with a GPU, cuda refuses naming the tensor and its type; neither touches the
     * device (the GPU here is only claimed by the probe).
     */
    @Test
    void weightTypesWithoutCudaKernelsFallBackOrRefuseByName() throws Exception {
        Path model = Path.of(BackendsTest.class.getResource("/io/gpud/inference/quants/quant-mix.gguf").toURI());
        var auto = EngineConfig.limits(4, 2, 8).withBackend(EngineConfig.Backend.AUTO);
        try (Engine engine = Backends.load(model, null, "m", auto, () -> H100, reason -> { })) {
            assertEquals("cpu", engine.device());
            assertEquals(3, generate(engine, 3));
        }
        var cuda = EngineConfig.limits(4, 2, 8).withBackend(EngineConfig.Backend.CUDA);
        var e = assertThrows(CudaBackendException.class,
                () -> Backends.load(model, null, "m", cuda, () -> H100, reason -> { }));
        assertTrue(e.getMessage().contains("tensor token_embd is Q4_K, which has no CUDA kernel"), e.getMessage());
    }

    /**
     * The CUDA backend runs the plain Llama forward pass only: another architecture stays on
     * the CPU under {@code auto} (before any CUDA call, so no GPU is needed here) and is
     * refused by name under {@code cuda}.
     */
    @Test
    void otherArchitecturesServeOnTheCpuUnderAutoAndAreRefusedUnderCuda(@TempDir Path dir) throws Exception {
        Path model = ArchitectureFixture.writeGguf(dir.resolve("q.gguf"), ArchitectureFixture.Spec.of("qwen2"),
                GgmlType.F32, 1);
        var auto = EngineConfig.limits(4, 2, 8).withBackend(EngineConfig.Backend.AUTO);
        try (Engine engine = Backends.load(model, null, "q", auto, () -> H100, reason -> { })) {
            assertEquals("cpu", engine.device());
            assertEquals(5, generate(engine, 5));
        }
        var cuda = EngineConfig.limits(4, 2, 8).withBackend(EngineConfig.Backend.CUDA);
        var e = assertThrows(CudaBackendException.class,
                () -> Backends.load(model, null, "q", cuda, () -> H100, reason -> { }));
        assertTrue(e.getMessage().contains("plain Llama") && e.getMessage().contains("architecture qwen2"),
                e.getMessage());
    }

    @Test
    void engineBackendParsesAndRefusesUnknownNames() {
        assertEquals(EngineConfig.Backend.CUDA, EngineConfig.Backend.parse("cuda"));
        assertEquals(EngineConfig.Backend.AUTO, EngineConfig.Backend.parse("Auto"));
        var e = assertThrows(RuntimeException.class, () -> EngineConfig.Backend.parse("rocm"));
        assertTrue(e.getMessage().contains("engine.backend") && e.getMessage().contains("rocm"), e.getMessage());
        assertEquals(EngineConfig.Backend.AUTO, EngineConfig.defaults().backend());
    }

    /** Generates {@code tokens} tokens from a one-token prompt; returns how many arrived. */
    static int generate(Engine engine, int tokens) throws Exception {
        var count = new AtomicInteger();
        var done = new CompletableFuture<Completion>();
        var request = new GenerationRequest("t", new int[] {1}, tokens, Sampling.greedy(), List.of(), true);
        var admission = engine.submit(request, new GenerationListener() {
            @Override
            public void onToken(int token, String text) {
                count.incrementAndGet();
            }

            @Override
            public void onDone(Completion completion) {
                done.complete(completion);
            }

            @Override
            public void onFailure(RuntimeException error) {
                done.completeExceptionally(error);
            }
        });
        assertInstanceOf(Admission.Accepted.class, admission);
        done.get(30, TimeUnit.SECONDS);
        return count.get();
    }
}
