package io.gpud.node;

import io.gpud.core.Time;
import io.gpud.inference.Admission;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.EmbeddingListener;
import io.gpud.inference.EmbeddingRequest;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.PrefixCacheView;
import io.gpud.inference.TokenLogprobs;
import io.gpud.inference.Tokenizer;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A served model whose weights may be unloaded while it stays served (Ollama's
 * {@code keep_alive}): the next request loads it again, through the same path that loaded
 * it first (for a store model, the verified chunk loader).
 *
 * <p>Requests that pass through here are counted until they end. When the count falls to
 * zero the model's keep-alive starts: zero unloads it at once (on a thread of its own: the
 * request ended on an engine thread, which must not close its own engine), a duration
 * unloads it that long later unless a request comes first ({@link #expireIfDue}, which
 * {@link ServedModels} calls on a timer), a negative one keeps it for good (the default).
 * Every request restores the default as it is admitted, so a keep-alive lasts only until the
 * next request that does not send one (as Ollama applies its default to such a request); an
 * Ollama request that sends one sets it again once admitted.
 * An unload frees the weights; the name, tokenizer and chat template the last engine had
 * keep answering, since a request is tokenized before it reaches the engine.
 *
 * <p>Loading happens under the lock, on the thread of the request that found the model
 * unloaded; requests arriving meanwhile wait for the same load.
 */
final class ResidentEngine implements Engine {
    private static final Logger log = LoggerFactory.getLogger(ResidentEngine.class);
    private static final Duration LOAD_FAILED_RETRY = Duration.ofSeconds(1);

    /** How this model is loaded again and released. */
    interface Loading {
        /** Loads the model again; throws when it cannot. */
        Engine reload();

        /** Frees {@code engine}'s weights; false when it cannot now (a hot reload is running). */
        boolean release(Engine engine);
    }

    private final Loading loading;
    private final Time time;
    private final Object lock = new Object();
    private volatile Engine loaded; // null while unloaded; written under lock
    private volatile Engine last; // the engine loaded last, answering info, tokenizer and template
    private int running; // guarded by lock: requests through here not yet ended
    /** Kept for good: the keep-alive of a model nobody asked to unload. */
    private static final Duration FOR_GOOD = Duration.ofSeconds(-1);

    private Duration keepAlive = FOR_GOOD; // guarded by lock
    private Instant idleSince; // guarded by lock: when running last fell to zero

    ResidentEngine(Engine first, Loading loading, Time time) {
        this.loaded = first;
        this.last = first;
        this.loading = loading;
        this.time = time;
        this.idleSince = time.instant();
    }

    /** Whether the weights are in memory now. */
    boolean isLoaded() {
        return loaded != null;
    }

    /** When the model unloads unless a request comes first; null when not loaded, busy, or kept for good. */
    Instant expiresAt() {
        synchronized (lock) {
            if (loaded == null || running > 0 || keepAlive.isNegative()) {
                return null;
            }
            return idleSince.plus(keepAlive);
        }
    }

    /** See {@link io.gpud.inference.Residency#keepAlive}. */
    void keepAlive(Duration keepAlive) {
        synchronized (lock) {
            this.keepAlive = keepAlive;
        }
        expireIfDue(time.instant());
    }

    /** Unloads the model if it is loaded, idle, and its keep-alive has run out by {@code now}. */
    void expireIfDue(Instant now) {
        synchronized (lock) {
            Engine engine = loaded;
            if (engine == null || running > 0 || keepAlive.isNegative() || now.isBefore(idleSince.plus(keepAlive))) {
                return;
            }
            if (loading.release(engine)) {
                loaded = null;
                log.info("unloaded {}: idle for its keep-alive of {}", engine.info().name(), keepAlive);
            }
        }
    }

    /** The loaded engine, loading it first if needed; counts one request in and restores the default keep-alive. */
    private Engine acquire() {
        synchronized (lock) {
            keepAlive = FOR_GOOD;
            Engine engine = loaded;
            if (engine == null) {
                long start = time.nanos();
                engine = loading.reload();
                loaded = engine;
                last = engine;
                log.info("loaded {} again in {} ms", engine.info().name(), (time.nanos() - start) / 1_000_000);
            }
            running++;
            return engine;
        }
    }

    /** One request ended: when it was the last, the keep-alive starts (zero: unload now). */
    private void ended() {
        boolean unloadNow;
        synchronized (lock) {
            running--;
            if (running > 0) {
                return;
            }
            idleSince = time.instant();
            unloadNow = keepAlive.isZero();
        }
        if (unloadNow) {
            Thread.ofVirtual().name("model-unload").start(() -> expireIfDue(time.instant()));
        }
    }

    @Override
    public Admission submit(GenerationRequest request, GenerationListener listener) {
        return admitted(engine -> engine.submit(request, new Counted(listener, this::ended)));
    }

    @Override
    public Admission embed(EmbeddingRequest request, EmbeddingListener listener) {
        return admitted(engine -> engine.embed(request, new EmbeddingListener() {
            @Override
            public void onEmbedding(float[] vector) {
                try {
                    listener.onEmbedding(vector);
                } finally {
                    ended();
                }
            }

            @Override
            public void onFailure(RuntimeException error) {
                try {
                    listener.onFailure(error);
                } finally {
                    ended();
                }
            }
        }));
    }

    /**
     * Loads the model if needed and admits one request through {@code submit}, whose
     * listener must call {@link #ended} once; a request not admitted ends here.
     */
    private Admission admitted(Function<Engine, Admission> submit) {
        Engine engine;
        try {
            engine = acquire();
        } catch (RuntimeException e) {
            return new Admission.Rejected("the model could not be loaded again: " + e.getMessage(), LOAD_FAILED_RETRY);
        }
        Admission admission;
        try {
            admission = submit.apply(engine);
        } catch (RuntimeException e) {
            ended();
            throw e;
        }
        if (!(admission instanceof Admission.Accepted)) {
            ended();
        }
        return admission;
    }

    /** A generation's listener that reports its end. */
    private record Counted(GenerationListener listener, Runnable ended) implements GenerationListener {
        @Override
        public void onToken(int token, String text) {
            listener.onToken(token, text);
        }

        @Override
        public void onToken(int token, String text, TokenLogprobs logprobs) {
            listener.onToken(token, text, logprobs);
        }

        @Override
        public void onDone(Completion completion) {
            try {
                listener.onDone(completion);
            } finally {
                ended.run();
            }
        }

        @Override
        public void onFailure(RuntimeException error) {
            try {
                listener.onFailure(error);
            } finally {
                ended.run();
            }
        }
    }

    @Override
    public ModelInfo info() {
        return last.info();
    }

    @Override
    public boolean embeds() {
        return last.embeds();
    }

    @Override
    public int positionLimit() {
        return last.positionLimit();
    }

    @Override
    public Tokenizer tokenizer() {
        return last.tokenizer();
    }

    @Override
    public ChatTemplate chatTemplate() {
        return last.chatTemplate();
    }

    @Override
    public String device() {
        return last.device();
    }

    @Override
    public Optional<String> quarantineReason() {
        return last.quarantineReason();
    }

    @Override
    public int inFlight() {
        Engine engine = loaded;
        return engine == null ? 0 : engine.inFlight();
    }

    /** The loaded engine's prefix cache; none while unloaded (unloading drops what it held). */
    @Override
    public Optional<PrefixCacheView> prefixCache() {
        Engine engine = loaded;
        return engine == null ? Optional.empty() : engine.prefixCache();
    }

    @Override
    public int queueDepth() {
        Engine engine = loaded;
        return engine == null ? 0 : engine.queueDepth();
    }

    @Override
    public void close() {
        synchronized (lock) {
            Engine engine = loaded;
            loaded = null;
            if (engine != null) {
                engine.close();
            }
        }
    }

    /** Closes the engine itself when released: a model loaded from a file or the demo. */
    static Loading closing(Supplier<Engine> reload) {
        return new Loading() {
            @Override
            public Engine reload() {
                return reload.get();
            }

            @Override
            public boolean release(Engine engine) {
                engine.close();
                return true;
            }
        };
    }
}
