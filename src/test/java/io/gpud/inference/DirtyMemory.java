package io.gpud.inference;

import io.gpud.config.EngineConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A backend whose memory reads back dirty whenever a sequence's place is released, as a
 * GPU whose scrub found non-zero words would: otherwise the CPU backend it wraps.
 */
public final class DirtyMemory<P> implements StepBackend<P> {
    private final StepBackend<P> backend;
    private final String finding;

    DirtyMemory(StepBackend<P> backend, String finding) {
        this.backend = backend;
        this.finding = finding;
    }

    /** An engine on {@code modelFile} that serves normally until its first sequence leaves. */
    public static Engine engine(Path modelFile, String name, EngineConfig config, Consumer<String> quarantine,
                                String finding) {
        LoadedModel model = LlamaLoader.load(modelFile, null, name, 0);
        return EngineScheduler.start("dirty-" + name, config, System::nanoTime, quarantine,
                () -> new DirtyMemory<>(new CpuBackend(model, config), finding));
    }

    @Override
    public String device() {
        return "dirty " + backend.device();
    }

    @Override
    public ModelInfo info() {
        return backend.info();
    }

    @Override
    public Tokenizer tokenizer() {
        return backend.tokenizer();
    }

    @Override
    public ChatTemplate chatTemplate() {
        return backend.chatTemplate();
    }

    @Override
    public int maxSequences() {
        return backend.maxSequences();
    }

    @Override
    public int positionLimit() {
        return backend.positionLimit();
    }

    @Override
    public Optional<String> neverHolds(int positions) {
        return backend.neverHolds(positions);
    }

    @Override
    public P claim(int[] prompt, long[] names, int positions, PrefixCache.Use use) {
        return backend.claim(prompt, names, positions, use);
    }

    @Override
    public int reusedTokens(P place) {
        return backend.reusedTokens(place);
    }

    @Override
    public Optional<PrefixCacheView> prefixCache() {
        return backend.prefixCache();
    }

    @Override
    public void step(List<Sequence<P>> running, StepOutput<P> out) {
        backend.step(running, out);
    }

    @Override
    public boolean survives(RuntimeException failure) {
        return false;
    }

    @Override
    public Optional<String> release(P place) {
        backend.release(place);
        return Optional.of(finding);
    }

    @Override
    public Optional<String> close() {
        return backend.close();
    }
}
