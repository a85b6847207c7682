package io.gpud.inference.cuda;

import io.gpud.config.EngineConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.core.Time;
import io.gpud.inference.CpuBackend;
import io.gpud.inference.Engine;
import io.gpud.inference.LlamaModel;
import io.gpud.inference.sim.SimBackend;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a model on the backend {@code engine.backend} asks for: {@code cpu} on the CPU
 * engine; {@code cuda} on the GPU or not at all; {@code auto} on the GPU when one is usable
 * and the model runs there, else on the CPU, with the reason in the log; {@code sim} on a
 * simulated GPU ({@link SimBackend}), with the file's tokenizer and chat template only.
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {
    }

    /** Where a model goes, decided from the configured backend and what the host has. */
    sealed interface Choice {
        /** Try the GPU; {@code fallBack}: the CPU if that fails, else fail. */
        record Gpu(CudaAvailability.Usable device, boolean fallBack) implements Choice {
        }

        /** The CPU; {@code reason} is logged when the GPU was wanted. */
        record Cpu(String reason) implements Choice {
        }

        /** The configuration demands a GPU that is not there. */
        record Refuse(String reason) implements Choice {
        }

        /** The simulated GPU of {@code engine.simProfile}. */
        record Sim() implements Choice {
        }
    }

    static Choice choose(EngineConfig.Backend backend, Supplier<CudaAvailability> probe) {
        if (backend == EngineConfig.Backend.CPU) {
            return new Choice.Cpu(null);
        }
        if (backend == EngineConfig.Backend.SIM) {
            return new Choice.Sim();
        }
        return switch (probe.get()) {
            case CudaAvailability.Usable u -> new Choice.Gpu(u, backend == EngineConfig.Backend.AUTO);
            case CudaAvailability.Unusable u -> backend == EngineConfig.Backend.AUTO
                    ? new Choice.Cpu(u.reason())
                    : new Choice.Refuse("engine.backend is cuda, but " + u.reason());
        };
    }

    /**
     * Loads {@code modelFile} (see {@link CpuBackend#load} for the arguments) on the
     * configured backend; {@code quarantineListener} hears, once, why the engine took itself
     * out of service (dirty device memory, a failed GPU step), for the node to leave service.
     *
     * @throws CudaBackendException when {@code engine.backend} is {@code cuda} and the model
     *                              cannot run on a GPU here
     * @throws io.gpud.config.ConfigException when {@code engine.backend} is {@code sim} and
     *                              {@code engine.simProfile} names no profile
     */
    public static Engine load(Path modelFile, Path tokenizerFile, String servedName, EngineConfig config,
                              Consumer<String> quarantineListener) {
        return load(modelFile, tokenizerFile, servedName, config, CudaProbe::probe, quarantineListener);
    }

    static Engine load(Path modelFile, Path tokenizerFile, String servedName, EngineConfig config,
                       Supplier<CudaAvailability> probe, Consumer<String> quarantineListener) {
        Choice choice = choose(config.backend(), probe);
        if (choice instanceof Choice.Refuse refuse) {
            throw new CudaBackendException(refuse.reason());
        }
        if (choice instanceof Choice.Sim) {
            return SimBackend.start(modelFile, tokenizerFile, servedName, config, Time.system(), quarantineListener);
        }
        LlamaModel model = LlamaModel.load(modelFile, tokenizerFile, servedName);
        if (choice instanceof Choice.Gpu gpu) {
            try {
                return CudaBackend.start(model, config, gpu.device(), MonotonicClock.system(), quarantineListener);
            } catch (CudaBackendException e) {
                if (!gpu.fallBack()) {
                    model.close();
                    throw new CudaBackendException("engine.backend is cuda, but " + model.info().name()
                            + " cannot run on " + gpu.device() + ": " + e.getMessage(), e);
                }
                choice = new Choice.Cpu(model.info().name() + " cannot run on " + gpu.device() + ": " + e.getMessage());
            }
        }
        if (choice instanceof Choice.Cpu cpu && cpu.reason() != null) {
            LOG.warn("engine.backend auto: serving {} on the CPU: {}", model.info().name(), cpu.reason());
        }
        return model.startCpuEngine(config, quarantineListener);
    }
}
