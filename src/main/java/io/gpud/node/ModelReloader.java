package io.gpud.node;

import io.gpud.api.ModelReload;
import io.gpud.api.NodeStatus;
import io.gpud.config.EngineConfig;
import io.gpud.config.StoreConfig;
import io.gpud.core.GpudException;
import io.gpud.core.Time;
import io.gpud.inference.Engine;
import io.gpud.inference.ReloadableEngine;
import io.gpud.metrics.MetricRegistry;
import io.gpud.model.ByteSource;
import io.gpud.model.ChunkListener;
import io.gpud.model.ChunkLoader;
import io.gpud.model.LoadOutcome;
import io.gpud.model.LoadProgress;
import io.gpud.model.Manifest;
import io.gpud.model.ModelFormatException;
import io.gpud.model.ModelStore;
import io.gpud.model.ThrottledByteSource;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the served model from the model store and swaps new versions in while it serves
 * ({@code gpud model load}, {@code store.followCurrent}).
 *
 * <p>A reload reads and checks every chunk of the new version first ({@link ChunkLoader});
 * a failure there is reported in {@code gpud status} and the old version keeps serving
 * untouched. Then, if old and new fit {@code store.reloadMemoryBytes} together, the new
 * engine is opened beside the old and {@link ReloadableEngine#swapBeside} switches; if not,
 * {@link ReloadableEngine#swapDraining} holds new requests while the old one finishes, and
 * opens the new one in its place (the old version again if that fails). One reload runs at
 * a time.
 */
final class ModelReloader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelReloader.class);

    private final StoreConfig config;
    private final EngineConfig engineConfig;
    private final ModelLoader modelLoader;
    private final Time time;
    private final Consumer<String> quarantineListener;
    private final ModelStore store;
    private final String name;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile ReloadableEngine engine;
    private volatile Attempt latest;
    private volatile String lastFailedVersion;
    private volatile boolean closed;
    /** The weights were freed (keep-alive ran out); the version the next load opens. Null while loaded. */
    private volatile String unloadedVersion;
    private Thread follower;

    /** The latest load: what, its progress, and how it ended (null while it runs). */
    private record Attempt(String model, LoadProgress progress, String state, String message) {
    }

    ModelReloader(StoreConfig config, EngineConfig engineConfig, String name, MetricRegistry metrics,
                  ModelLoader loader, Time time, Consumer<String> quarantineListener) {
        this.modelLoader = loader;
        this.time = time;
        this.config = config;
        this.quarantineListener = quarantineListener;
        this.engineConfig = engineConfig;
        this.store = new ModelStore(config.root());
        this.name = name;
        metrics.gauge("gpud_model_load_bytes", "Bytes read and checked by the latest model load",
                () -> latest == null ? 0 : latest.progress().snapshot().bytes());
        metrics.gauge("gpud_model_load_total_bytes", "Bytes of the version the latest model load reads",
                () -> latest == null ? 0 : latest.progress().snapshot().totalBytes());
        metrics.gauge("gpud_model_load_bytes_per_second", "Average read rate of the latest model load",
                () -> latest == null ? 0 : latest.progress().snapshot().bytesPerSecond());
        metrics.gauge("gpud_model_load_eta_seconds", "Seconds left in the latest model load at its rate",
                () -> {
                    var s = latest == null ? null : latest.progress().snapshot();
                    return s == null || s.eta() == null ? 0 : s.eta().toMillis() / 1000.0;
                });
    }

    /** Loads the version {@code current} names and starts serving it; throws if that fails. */
    ReloadableEngine loadInitial() {
        String version = store.current(name).orElseThrow(() -> new GpudException("model store " + store.root()
                + " has no current version of " + name + " (publish one with gpud model publish)"));
        Engine first = verifyAndOpen(version).orElseThrow(() -> new GpudException(
                "cannot load " + name + "@" + version + ": " + latest.message()));
        engine = new ReloadableEngine(first, version, engineConfig.queueCapacity() + engineConfig.maxConcurrent());
        latest = new Attempt(latest.model(), latest.progress(), "serving", "initial load");
        if (config.followCurrent()) {
            follower = Thread.ofVirtual().name("model-follow-current").start(this::followCurrent);
        }
        return engine;
    }

    /** Starts a reload of {@code requestedName} at {@code version} (null: the current pointer). */
    ModelReload request(String requestedName, String version) {
        if (!name.equals(requestedName)) {
            return new ModelReload.Refused("this node serves " + name + " from the store, not " + requestedName);
        }
        String v;
        try {
            v = version != null ? version : store.current(name).orElse(null);
            if (v == null) {
                return new ModelReload.Refused("the store has no current version of " + name);
            }
            store.versionDir(name, v);
        } catch (ModelFormatException e) {
            return new ModelReload.Refused(e.getMessage());
        }
        if (!busy.compareAndSet(false, true)) {
            return new ModelReload.Refused("a reload is already running: " + latest.model());
        }
        if (unloadedVersion != null) {
            unloadedVersion = v;
            record(name + "@" + v, null, "unloaded", "the model is unloaded (keep_alive); its next request loads "
                    + v);
            busy.set(false);
            return new ModelReload.Started(name, v);
        }
        Thread.ofVirtual().name("model-reload").start(() -> {
            try {
                reload(v);
            } finally {
                busy.set(false);
            }
        });
        return new ModelReload.Started(name, v);
    }

    /** Reads and checks {@code version}, then swaps it in. Failures are recorded, never thrown. */
    private void reload(String version) {
        Engine old = engine.serving().engine();
        long oldBytes = old.info().sizeBytes();
        Manifest manifest;
        try {
            manifest = Manifest.read(store.versionDir(name, version));
        } catch (ModelFormatException e) {
            record(name + "@" + version, null, "failed", e.getMessage());
            return;
        }
        boolean beside = oldBytes + manifest.totalBytes() <= memoryBudget();
        Engine next = null;
        if (beside) {
            next = verifyAndOpen(version).orElse(null);
        }
        if (beside ? next == null : !verify(version, manifest)) {
            lastFailedVersion = version;
            log.warn("reload of {}@{} failed, {}@{} keeps serving: {}", name, version, name,
                    engine.serving().version(), latest.message());
            return;
        }
        String from = engine.serving().version();
        set("swapping", null);
        try {
            if (beside) {
                engine.swapBeside(next, version);
                set("serving", "loaded beside " + from + " and switched");
            } else {
                boolean ok = engine.swapDraining(() -> new ReloadableEngine.Serving(open(version), version),
                        () -> new ReloadableEngine.Serving(open(from), from),
                        e -> log.warn("cannot open {}@{} after draining, reopening {}: {}", name, version, from,
                                e.toString()));
                set(ok ? "serving" : "failed", ok ? "drained " + from + " and swapped (not enough memory for both)"
                        : "opening failed after the drain; " + from + " serves again");
            }
            log.info("{}@{} now serves ({})", name, engine.serving().version(), latest.message());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            set("failed", "interrupted during the swap");
        }
    }

    /** Verifies and opens {@code version}; empty (with the failure recorded) if either fails. */
    private Optional<Engine> verifyAndOpen(String version) {
        Path dir = store.versionDir(name, version);
        Manifest manifest;
        try {
            manifest = Manifest.read(dir);
        } catch (ModelFormatException e) {
            record(name + "@" + version, null, "failed", e.getMessage());
            return Optional.empty();
        }
        if (!verify(version, manifest)) {
            return Optional.empty();
        }
        try {
            return Optional.of(open(version));
        } catch (RuntimeException e) {
            set("failed", "verified but cannot be opened: " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Reads every chunk through the loader; true if all matched. */
    private boolean verify(String version, Manifest manifest) {
        ByteSource source = ByteSource.files();
        if (config.maxBytesPerSecond() > 0) {
            source = new ThrottledByteSource(source, config.maxBytesPerSecond(), time);
        }
        var loader = new ChunkLoader(ChunkLoader.Settings.of(config), source, time);
        LoadProgress progress = loader.newProgress(manifest);
        record(name + "@" + version, progress, "loading", null);
        log.info("loading {}@{}: {} bytes in {} chunks with {} readers", name, version, manifest.totalBytes(),
                manifest.chunkCount(), config.readers());
        LoadOutcome outcome = loader.load(store.versionDir(name, version), manifest, ChunkListener.NONE, progress);
        return switch (outcome) {
            case LoadOutcome.Loaded ok -> {
                log.info("verified {}", progress.snapshot().describe());
                yield true;
            }
            case LoadOutcome.Failed bad -> {
                set("failed", bad.describe());
                yield false;
            }
        };
    }

    /** Opens the engine on a verified version (the loader left its pages in the page cache). */
    private Engine open(String version) {
        Path dir = store.versionDir(name, version);
        Manifest m = Manifest.read(dir);
        Path entry = m.entry().equals(".") ? dir : dir.resolve(m.entry());
        Path tokenizer = m.tokenizer() == null ? null : dir.resolve(m.tokenizer());
        return modelLoader.load(entry, tokenizer, name, engineConfig, quarantineListener);
    }

    private long memoryBudget() {
        if (config.reloadMemoryBytes() > 0) {
            return config.reloadMemoryBytes();
        }
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getTotalMemorySize() : Long.MAX_VALUE;
    }

    private void followCurrent() {
        try {
            while (!closed) {
                time.sleep(config.followInterval());
                String current;
                try {
                    current = store.current(name).orElse(null);
                } catch (ModelFormatException e) {
                    log.warn("cannot follow {}: {}", name, e.getMessage());
                    continue;
                }
                if (current != null && !current.equals(servingVersion())
                        && !current.equals(lastFailedVersion) && !busy.get()) {
                    log.info("current of {} moved to {}: reloading", name, current);
                    request(name, current);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The version serving now, or, while unloaded, the one the next load opens. */
    String servingVersion() {
        String unloaded = unloadedVersion;
        return unloaded != null ? unloaded : engine.serving().version();
    }

    /**
     * Frees the weights, unless a reload is running (false then: the caller tries again
     * later). The next request then loads through {@link #reopen}.
     */
    boolean unload() {
        if (!busy.compareAndSet(false, true)) {
            return false;
        }
        try {
            unloadedVersion = engine.serving().version();
            engine.close();
            record(name + "@" + unloadedVersion, null, "unloaded", "keep_alive ran out; the next request loads it");
            return true;
        } finally {
            busy.set(false);
        }
    }

    /** Loads the unloaded model again: reads and checks every chunk, then opens it. Throws if that fails. */
    ReloadableEngine reopen() {
        while (!busy.compareAndSet(false, true)) {
            Thread.onSpinWait(); // a reload request only records the version while unloaded: brief
        }
        try {
            String version = unloadedVersion;
            Engine opened = verifyAndOpen(version).orElseThrow(() -> new GpudException(
                    "cannot load " + name + "@" + version + ": " + latest.message()));
            engine = new ReloadableEngine(opened, version, engineConfig.queueCapacity() + engineConfig.maxConcurrent());
            unloadedVersion = null;
            set("serving", "loaded again on demand");
            return engine;
        } finally {
            busy.set(false);
        }
    }

    /** The latest load for {@code gpud status}. */
    NodeStatus.ModelLoad status() {
        Attempt a = latest;
        if (a == null) {
            return null;
        }
        if (a.progress() == null) {
            return new NodeStatus.ModelLoad(a.model(), a.state(), 0, 0, 0, 0, a.message());
        }
        var s = a.progress().snapshot();
        return new NodeStatus.ModelLoad(a.model(), a.state(), s.bytes(), s.totalBytes(), s.bytesPerSecond(),
                s.finished() || s.eta() == null ? 0 : s.eta().toSeconds(), a.message());
    }

    private void record(String model, LoadProgress progress, String state, String message) {
        latest = new Attempt(model, progress, state, message);
        if (state.equals("failed")) {
            log.warn("model load {} failed: {}", model, message);
        }
    }

    private void set(String state, String message) {
        Attempt a = latest;
        record(a.model(), a.progress(), state, message);
    }

    @Override
    public void close() {
        closed = true;
        if (follower != null) {
            follower.interrupt();
        }
    }
}
