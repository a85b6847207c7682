package io.gpud.inference;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An engine whose model can be replaced while it serves: the hook hot reload uses. It
 * forwards generations and embeddings to the engine currently serving and never fails a
 * request because of a swap.
 *
 * <p>Two ways to swap, chosen by the caller from the memory available:
 * <ul>
 * <li>{@link #swapBeside}: the new engine is already loaded beside the old one. New
 * requests go to the new engine from the moment of the swap (the old engine's batch simply
 * stops receiving sequences, so the switch falls on its batch boundary); requests in
 * flight on the old engine finish there; then the old engine is closed.
 * <li>{@link #swapDraining}: there is room for only one. New requests are held (admitted,
 * with handles that cancel) while the old engine finishes its in-flight requests; the old
 * engine is closed, the new one opened, and the held requests are submitted to it in
 * arrival order. If the new one cannot be opened, the fallback (normally the old version
 * again) is opened instead, and the held requests run there.
 * </ul>
 * Swaps are serialized by the caller (one reload at a time). A request tokenized with the
 * old version's tokenizer may run on the new version; versions of one model share their
 * tokenizer, which is what a reload within one model name assumes.
 */
public final class ReloadableEngine implements Engine {
    private static final Duration DRAIN_POLL = Duration.ofMillis(5);
    private static final Duration FLUSH_RETRY = Duration.ofMillis(20);

    /** What serves now: the engine and the version it runs. */
    public record Serving(Engine engine, String version) {
    }

    private final Object lock = new Object();
    /** Submits hold it shared, a swap exclusively: after a swap no submit still reaches the old engine. */
    private final ReentrantReadWriteLock swapLock = new ReentrantReadWriteLock();
    private final int holdCapacity;
    private volatile Serving serving;
    private volatile Engine retiring; // finishing its in-flight requests after a swap, or null
    private final ArrayDeque<HeldRequest> held = new ArrayDeque<>(); // guarded by lock
    private boolean holding; // guarded by lock
    private boolean closed; // guarded by lock

    /**
     * @param first        the engine to serve first
     * @param version      its version
     * @param holdCapacity requests held at most while a draining swap runs; beyond it new
     *                     requests are refused with a retry hint, as a full engine would
     */
    public ReloadableEngine(Engine first, String version, int holdCapacity) {
        this.serving = new Serving(first, version);
        this.holdCapacity = holdCapacity;
    }

    /** The engine and version serving now. */
    public Serving serving() {
        return serving;
    }

    @Override
    public ModelInfo info() {
        return serving.engine().info();
    }

    @Override
    public boolean embeds() {
        return serving.engine().embeds();
    }

    @Override
    public int positionLimit() {
        return serving.engine().positionLimit();
    }

    @Override
    public Tokenizer tokenizer() {
        return serving.engine().tokenizer();
    }

    @Override
    public ChatTemplate chatTemplate() {
        return serving.engine().chatTemplate();
    }

    @Override
    public String device() {
        return serving.engine().device();
    }

    @Override
    public Optional<String> quarantineReason() {
        return serving.engine().quarantineReason();
    }

    /** The prefix cache of the engine serving now (a reload starts with an empty one). */
    @Override
    public Optional<PrefixCacheView> prefixCache() {
        return serving.engine().prefixCache();
    }

    @Override
    public Admission submit(GenerationRequest request, GenerationListener listener) {
        return admit(request.requestId(), engine -> engine.submit(request, listener), listener::onFailure);
    }

    @Override
    public Admission embed(EmbeddingRequest request, EmbeddingListener listener) {
        return admit(request.requestId(), engine -> engine.embed(request, listener), listener::onFailure);
    }

    /** Hands a request to the engine serving now, or holds it while a draining swap runs. */
    private Admission admit(String requestId, Function<Engine, Admission> submit,
                            Consumer<RuntimeException> onFailure) {
        swapLock.readLock().lock();
        try {
            synchronized (lock) {
                if (closed) {
                    return new Admission.Rejected("engine is closed", Duration.ofSeconds(1));
                }
                if (holding) {
                    if (held.size() >= holdCapacity) {
                        return new Admission.Rejected("model reload in progress and " + held.size()
                                + " requests already wait for it", Duration.ofSeconds(1));
                    }
                    var h = new HeldRequest(requestId, submit, onFailure);
                    held.add(h);
                    return new Admission.Accepted(h);
                }
            }
            return submit.apply(serving.engine());
        } finally {
            swapLock.readLock().unlock();
        }
    }

    @Override
    public int inFlight() {
        Engine old = retiring;
        int heldNow;
        synchronized (lock) {
            heldNow = held.size();
        }
        return serving.engine().inFlight() + (old != null ? old.inFlight() : 0) + heldNow;
    }

    @Override
    public int queueDepth() {
        int heldNow;
        synchronized (lock) {
            heldNow = held.size();
        }
        return serving.engine().queueDepth() + heldNow;
    }

    /**
     * Switches new requests to {@code next} at once, waits until the old engine has
     * finished its in-flight requests, then closes it. Blocks for that long.
     */
    public void swapBeside(Engine next, String version) throws InterruptedException {
        Engine old;
        swapLock.writeLock().lock();
        try {
            old = serving.engine();
            retiring = old;
            serving = new Serving(next, version);
        } finally {
            swapLock.writeLock().unlock();
        }
        awaitIdle(old);
        retiring = null;
        old.close();
    }

    /**
     * Holds new requests, waits until the old engine has finished its in-flight requests,
     * closes it, opens {@code next} (or, if that throws, {@code fallback}) and submits the
     * held requests to it. Returns whether {@code next} is serving; the exception from
     * {@code next} is passed to {@code onNextFailed} before the fallback is tried.
     */
    public boolean swapDraining(Supplier<Serving> next, Supplier<Serving> fallback,
                                Consumer<RuntimeException> onNextFailed)
            throws InterruptedException {
        Engine old;
        swapLock.writeLock().lock();
        try {
            old = serving.engine();
            synchronized (lock) {
                holding = true;
            }
        } finally {
            swapLock.writeLock().unlock();
        }
        boolean swapped = false;
        try {
            awaitIdle(old);
            old.close();
            Serving opened;
            try {
                opened = next.get();
                swapped = true;
            } catch (RuntimeException e) {
                onNextFailed.accept(e);
                opened = fallback.get();
            }
            serving = opened;
        } finally {
            release();
        }
        return swapped;
    }

    /** Stops holding and submits the held requests, in order, to the engine serving now. */
    private void release() throws InterruptedException {
        while (true) {
            HeldRequest h;
            synchronized (lock) {
                h = held.peek();
                if (h == null) {
                    holding = false;
                    return;
                }
            }
            if (h.submitTo(serving.engine())) {
                synchronized (lock) {
                    held.poll();
                }
            } else {
                Thread.sleep(FLUSH_RETRY);
            }
        }
    }

    private static void awaitIdle(Engine engine) throws InterruptedException {
        while (engine.inFlight() > 0) {
            Thread.sleep(DRAIN_POLL);
        }
    }

    @Override
    public void close() {
        java.util.List<HeldRequest> dropped;
        synchronized (lock) {
            closed = true;
            dropped = java.util.List.copyOf(held);
            held.clear();
        }
        for (HeldRequest h : dropped) {
            h.onFailure.accept(new InferenceException("the engine closed before the model reload finished"));
        }
        Engine old = retiring;
        if (old != null) {
            old.close();
        }
        serving.engine().close();
    }

    /** A generation or embedding admitted while a draining swap runs; submitted once the new engine serves. */
    private static final class HeldRequest implements Generation {
        private final String requestId;
        private final Function<Engine, Admission> submit;
        private final Consumer<RuntimeException> onFailure;
        private Generation running; // guarded by this
        private boolean cancelled; // guarded by this

        HeldRequest(String requestId, Function<Engine, Admission> submit, Consumer<RuntimeException> onFailure) {
            this.requestId = requestId;
            this.submit = submit;
            this.onFailure = onFailure;
        }

        @Override
        public String requestId() {
            return requestId;
        }

        @Override
        public void cancel() {
            Generation g;
            synchronized (this) {
                cancelled = true;
                g = running;
            }
            if (g != null) {
                g.cancel();
            }
        }

        /** Submits to {@code engine}; false if it is full and this must be tried again. */
        boolean submitTo(Engine engine) {
            Admission admission;
            try {
                admission = submit.apply(engine);
            } catch (RuntimeException e) {
                onFailure.accept(e);
                return true;
            }
            if (admission instanceof Admission.Refused(String reason)) {
                onFailure.accept(new IllegalArgumentException(reason));
                return true;
            }
            if (admission instanceof Admission.Accepted(Generation g)) {
                boolean cancelNow;
                synchronized (this) {
                    running = g;
                    cancelNow = cancelled;
                }
                if (cancelNow) {
                    g.cancel();
                }
                return true;
            }
            return false;
        }
    }
}
