package io.gpud.node;

import io.gpud.api.ModelReload;
import io.gpud.api.NodeStatus;
import io.gpud.config.GpudConfig;
import io.gpud.config.ModelConfig;
import io.gpud.core.GpudException;
import io.gpud.core.Time;
import io.gpud.inference.DemoModel;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.ModelInfo;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models this node serves, loaded once at start: from the model store (then reloadable
 * with {@code gpud model load}), from a file, or the demo model; or none, when nothing is
 * configured and the node will not be ready. Every request submitted to them is counted
 * (the demand the node reports to the registry).
 */
final class ServedModels implements ModelCatalog, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ServedModels.class);

    /** Seed of the demo model's random weights: the same demo everywhere. */
    private static final long DEMO_SEED = 42L;

    /** The version gossiped for a model loaded from a plain file rather than the model store. */
    private static final String UNVERSIONED = "file";

    private final List<Engine> engines;
    private final Optional<ModelReloader> reloader;
    private final AtomicLong submitted;

    private ServedModels(List<Engine> engines, Optional<ModelReloader> reloader, AtomicLong submitted) {
        this.engines = engines;
        this.reloader = reloader;
        this.submitted = submitted;
    }

    /** Loads what {@code config.model()} names; {@code quarantine} hears an engine take itself out of service. */
    static ServedModels load(GpudConfig config, MetricRegistry metrics, ModelLoader loader, Time time,
                             Consumer<String> quarantine) {
        ModelConfig model = config.model();
        var submitted = new AtomicLong();
        Optional<ModelReloader> reloader = Optional.empty();
        Engine engine;
        if (model.path() == null && model.name() != null && config.store().root() != null) {
            var fromStore = new ModelReloader(config.store(), config.engine(), model.name(), metrics, loader,
                    time, quarantine);
            reloader = Optional.of(fromStore);
            engine = fromStore.loadInitial();
        } else if (model.path() != null) {
            engine = loader.load(model.path(), model.tokenizer(), model.name(), config.engine(), quarantine);
        } else if (model.demo()) {
            String name = model.name() != null ? model.name() : ModelConfig.DEMO_NAME;
            engine = loader.load(demoFile(config.node().dataDir()), null, name, config.engine(), quarantine);
        } else {
            return new ServedModels(List.of(), reloader, submitted);
        }
        ModelInfo info = engine.info();
        log.info("serving model {} ({} {}, {} parameters, context {}) on {}", info.name(), info.format(),
                info.weightType(), info.parameters(), info.contextLength(), engine.device());
        return new ServedModels(List.of(new CountingEngine(engine, submitted)), reloader, submitted);
    }

    /** The demo model in the data dir, written on first use. */
    private static Path demoFile(Path dataDir) {
        Path demo = dataDir.resolve("models").resolve(ModelConfig.DEMO_NAME + ".gguf");
        if (!Files.exists(demo)) {
            try {
                Files.createDirectories(demo.getParent());
                Path partial = demo.resolveSibling(demo.getFileName() + ".partial");
                DemoModel.write(partial, DEMO_SEED);
                Files.move(partial, demo, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new GpudException("cannot write the demo model to " + demo + ": " + e, e);
            }
            log.info("wrote a random-weight demo model to {}", demo);
        }
        return demo;
    }

    @Override
    public List<Engine> engines() {
        return engines;
    }

    /** Requests submitted to every engine since start, admitted or not. */
    long submitted() {
        return submitted.get();
    }

    @Override
    public String version(String name) {
        return reloader.filter(r -> engines.stream().anyMatch(e -> e.info().name().equals(name)))
                .map(ModelReloader::servingVersion)
                .orElse(UNVERSIONED);
    }

    /** Hot reload from the store; refused when the model did not come from one. */
    ModelReload reload(String name, String version) {
        return reloader.map(r -> r.request(name, version))
                .orElseGet(() -> new ModelReload.Refused(
                        "this node serves no model from the store (set store.root and model.name)"));
    }

    /** The latest store load, for {@code gpud status}; null without a store. */
    NodeStatus.ModelLoad reloadStatus() {
        return reloader.map(ModelReloader::status).orElse(null);
    }

    /** Stops the reloader, then the engines. */
    @Override
    public void close() {
        try {
            reloader.ifPresent(ModelReloader::close);
        } finally {
            engines.forEach(Engine::close);
        }
    }
}
