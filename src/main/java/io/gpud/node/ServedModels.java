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
import io.gpud.inference.Residency;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models this node serves, loaded at start: from the model store (then reloadable
 * with {@code gpud model load}), from a file, or the demo model; or none, when nothing is
 * configured and the node will not be ready. Every request submitted to them is counted
 * (the demand the node reports to the registry).
 *
 * <p>A model may be unloaded by its keep-alive ({@link ResidentEngine}) and stays served:
 * the node keeps advertising it in gossip and to the router, and the next request routed
 * here loads it again (from the store through the verified chunk loader, or from its file).
 * Unloading is this node's view only: it frees memory here, and costs the next request the
 * load time.
 */
final class ServedModels implements ModelCatalog, Residency, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ServedModels.class);

    /** Seed of the demo model's random weights: the same demo everywhere. */
    private static final long DEMO_SEED = 42L;

    /** How often keep-alives are checked for having run out: the granularity of {@code keep_alive}. */
    private static final Duration EXPIRY_CHECK = Duration.ofSeconds(1);

    private final List<Engine> engines;
    private final List<ResidentEngine> residents;
    private final Optional<ModelReloader> reloader;
    private final AtomicLong submitted;
    private final Time time;
    private final Thread expiry;

    private ServedModels(List<ResidentEngine> residents, Optional<ModelReloader> reloader, AtomicLong submitted,
                         Time time) {
        this.residents = residents;
        this.engines = residents.stream().<Engine>map(r -> new CountingEngine(r, submitted)).toList();
        this.reloader = reloader;
        this.submitted = submitted;
        this.time = time;
        this.expiry = residents.isEmpty() ? null
                : Thread.ofVirtual().name("model-keep-alive").start(this::expireLoop);
    }

    /** Loads what {@code config.model()} names; {@code quarantine} hears an engine take itself out of service. */
    static ServedModels load(GpudConfig config, MetricRegistry metrics, ModelLoader loader, Time time,
                             Consumer<String> quarantine) {
        ModelConfig model = config.model();
        var submitted = new AtomicLong();
        Optional<ModelReloader> reloader = Optional.empty();
        Engine engine;
        ResidentEngine.Loading loading;
        if (model.path() == null && model.name() != null && config.store().root() != null) {
            var fromStore = new ModelReloader(config.store(), config.engine(), model.name(), metrics, loader,
                    time, quarantine);
            reloader = Optional.of(fromStore);
            engine = fromStore.loadInitial();
            loading = new ResidentEngine.Loading() {
                @Override
                public Engine reload() {
                    return fromStore.reopen();
                }

                @Override
                public boolean release(Engine released) {
                    return fromStore.unload();
                }
            };
        } else if (model.path() != null) {
            Supplier<Engine> open = () -> loader.load(model.path(), model.tokenizer(), model.name(), config.engine(),
                    quarantine);
            engine = open.get();
            loading = ResidentEngine.closing(open);
        } else if (model.demo()) {
            String name = model.name() != null ? model.name() : ModelConfig.DEMO_NAME;
            Path file = demoFile(config.node().dataDir());
            Supplier<Engine> open = () -> loader.load(file, null, name, config.engine(), quarantine);
            engine = open.get();
            loading = ResidentEngine.closing(open);
        } else {
            return new ServedModels(List.of(), reloader, submitted, time);
        }
        ModelInfo info = engine.info();
        log.info("serving model {} ({} {}, {} parameters, context {}) on {}", info.name(), info.format(),
                info.weightType(), info.parameters(), info.contextLength(), engine.device());
        return new ServedModels(List.of(new ResidentEngine(engine, loading, time)), reloader, submitted, time);
    }

    /**
     * The demo model in the data dir, written at every start: it is small, and a file left by
     * an older release (another template, another context) must not outlive the release.
     */
    private static Path demoFile(Path dataDir) {
        Path demo = dataDir.resolve("models").resolve(ModelConfig.DEMO_NAME + ".gguf");
        try {
            Files.createDirectories(demo.getParent());
            Path partial = demo.resolveSibling(demo.getFileName() + ".partial");
            DemoModel.write(partial, DEMO_SEED);
            Files.move(partial, demo, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new GpudException("cannot write the demo model to " + demo + ": " + e, e);
        }
        log.debug("wrote the random-weight demo model to {}", demo);
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

    @Override
    public Residency residency() {
        return this;
    }

    @Override
    public List<Loaded> loaded() {
        var out = new ArrayList<Loaded>();
        for (int i = 0; i < residents.size(); i++) {
            ResidentEngine r = residents.get(i);
            if (r.isLoaded()) {
                out.add(new Loaded(engines.get(i), r.expiresAt()));
            }
        }
        return out;
    }

    @Override
    public void keepAlive(String name, Duration keepAlive) {
        residents.stream().filter(r -> r.info().name().equals(name)).forEach(r -> r.keepAlive(keepAlive));
    }

    /** Unloads, every {@link #EXPIRY_CHECK}, the models whose keep-alive ran out. */
    private void expireLoop() {
        try {
            while (true) {
                time.sleep(EXPIRY_CHECK);
                Instant now = time.instant();
                residents.forEach(r -> r.expireIfDue(now));
            }
        } catch (InterruptedException e) {
            // closing
        }
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

    /** Stops the keep-alive timer and the reloader, then the engines. */
    @Override
    public void close() {
        if (expiry != null) {
            expiry.interrupt();
        }
        try {
            reloader.ifPresent(ModelReloader::close);
        } finally {
            engines.forEach(Engine::close);
        }
    }
}
