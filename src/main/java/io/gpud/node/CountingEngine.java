package io.gpud.node;

import io.gpud.inference.Admission;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.EmbeddingListener;
import io.gpud.inference.EmbeddingRequest;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.PrefixCacheView;
import io.gpud.inference.Tokenizer;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An engine that counts every request submitted to it, generation or embedding, admitted or not: the demand the
 * node reports to the registry, from which the autoscaler computes requests per second.
 */
final class CountingEngine implements Engine {
    private final Engine engine;
    private final AtomicLong submitted;

    CountingEngine(Engine engine, AtomicLong submitted) {
        this.engine = engine;
        this.submitted = submitted;
    }

    @Override
    public ModelInfo info() {
        return engine.info();
    }

    @Override
    public boolean embeds() {
        return engine.embeds();
    }

    @Override
    public int positionLimit() {
        return engine.positionLimit();
    }

    @Override
    public Tokenizer tokenizer() {
        return engine.tokenizer();
    }

    @Override
    public ChatTemplate chatTemplate() {
        return engine.chatTemplate();
    }

    @Override
    public String device() {
        return engine.device();
    }

    @Override
    public Optional<String> quarantineReason() {
        return engine.quarantineReason();
    }

    @Override
    public Admission submit(GenerationRequest request, GenerationListener listener) {
        submitted.incrementAndGet();
        return engine.submit(request, listener);
    }

    @Override
    public Admission embed(EmbeddingRequest request, EmbeddingListener listener) {
        submitted.incrementAndGet();
        return engine.embed(request, listener);
    }

    @Override
    public int inFlight() {
        return engine.inFlight();
    }

    @Override
    public Optional<PrefixCacheView> prefixCache() {
        return engine.prefixCache();
    }

    @Override
    public int queueDepth() {
        return engine.queueDepth();
    }

    @Override
    public void close() {
        engine.close();
    }
}
