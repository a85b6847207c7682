package io.gpud.inference;

import io.gpud.config.EngineConfig;
import io.gpud.core.MonotonicClock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine every backend shares: continuous (iteration-level) batching over one scheduler
 * thread that drives a {@link StepBackend}.
 *
 * <p>Requests wait in a bounded queue; the scheduler runs steps. Before every step, queued
 * sequences join the running batch while the backend has room for them (fewer than its
 * {@code maxSequences}, and a place for a cache of the prompt plus {@code maxTokens}
 * positions, at most {@code positionLimit}); cancelled sequences leave. The backend then runs
 * one step over the batch, and each sequence whose logits it computed samples its next
 * token. A finished sequence leaves the batch at once and frees its place before its
 * listener hears so, so its place is free for the next request.
 *
 * <p>Admission: at most {@code queueCapacity} requests wait beyond the free places; then
 * {@link #submit} answers {@link Admission.Rejected} with a Retry-After of one second. A
 * request the backend can never hold (its cache alone exceeds the budget) is
 * {@link Admission.Refused} with the numbers.
 *
 * <p>One generation ends with {@link FinishReason#STOP} on an end-of-generation token
 * (unless {@code ignoreEos}) or a stop sequence, with {@link FinishReason#LENGTH} at
 * {@code maxTokens} or when its cache is full, and with {@link FinishReason#CANCELLED} when
 * cancelled (checked before every step). Every sampled token, including the end token
 * that stops a generation, is passed to {@link GenerationListener#onToken} with the text it
 * made final (see {@link TextStream}). Listeners run on the scheduler thread and must be quick.
 *
 * <p>Embeddings ({@link #embed}) share the queue, the admission and the batch: an
 * embedding is a prompt whose every row's final hidden state the backend pools
 * ({@link EmbeddingRun}); once its last row has run it leaves the batch and its listener
 * gets the vector. Cancelled, it fails with the reason instead.
 *
 * <p>Quarantine: memory that does not read back clean when a place is released, or a step
 * failure the device does not survive, takes the engine out of service for good: queued
 * requests fail, new ones are rejected, and the quarantine listener hears the reason once
 * (the node then leaves the routing pool). A step failure the device survives fails the
 * sequences of that step only.
 */
public final class EngineScheduler<P> implements Engine {
    private static final Logger LOG = LoggerFactory.getLogger(EngineScheduler.class);
    private static final Duration RETRY_AFTER = Duration.ofSeconds(1);

    private final EngineConfig config;
    private final MonotonicClock clock;
    private final Consumer<String> quarantineListener;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final ArrayDeque<Run> queue = new ArrayDeque<>();
    private final Thread thread;
    private StepBackend<P> backend;
    private int runningCount;
    private boolean closed;
    private volatile String quarantine;

    // scheduler thread only
    private final List<Sequence<P>> running = new ArrayList<>();
    private int embeddingsRunning;

    private EngineScheduler(String threadName, EngineConfig config, MonotonicClock clock,
                            Consumer<String> quarantineListener, Supplier<StepBackend<P>> open,
                            CompletableFuture<StepBackend<P>> opened) {
        this.config = config;
        this.clock = clock;
        this.quarantineListener = quarantineListener;
        this.thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(() -> run(open, opened));
    }

    /**
     * Starts an engine: its scheduler thread opens the backend and then serves. Returns once
     * the backend is open.
     *
     * @param threadName         the scheduler thread's name
     * @param open               opens the backend on the scheduler thread
     * @param quarantineListener told, once, why the engine took itself out of service
     * @throws RuntimeException  what opening the backend threw
     */
    public static <P> EngineScheduler<P> start(String threadName, EngineConfig config, MonotonicClock clock,
                                               Consumer<String> quarantineListener, Supplier<StepBackend<P>> open) {
        var opened = new CompletableFuture<StepBackend<P>>();
        var engine = new EngineScheduler<>(threadName, config, clock, quarantineListener, open, opened);
        engine.thread.start();
        try {
            opened.get(); // the scheduler thread set the backend before completing it
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new InferenceException("the engine failed to start: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InferenceException("interrupted while the engine started", e);
        }
        return engine;
    }

    @Override
    public ModelInfo info() {
        return backend.info();
    }

    @Override
    public boolean embeds() {
        return backend.refusesEmbeddings().isEmpty();
    }

    @Override
    public int positionLimit() {
        return Math.min(backend.info().contextLength(), backend.positionLimit());
    }

    @Override
    public Tokenizer tokenizer() {
        return backend.tokenizer();
    }

    @Override
    public Optional<PrefixCacheView> prefixCache() {
        return backend.prefixCache();
    }

    @Override
    public ChatTemplate chatTemplate() {
        return backend.chatTemplate();
    }

    @Override
    public String device() {
        return backend.device();
    }

    @Override
    public Optional<String> quarantineReason() {
        return Optional.ofNullable(quarantine);
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when a prompt token is outside the vocabulary, the
     *                                  prompt does not fit the context, or stop sequences
     *                                  are given to a model without a tokenizer
     */
    @Override
    public Admission submit(GenerationRequest request, GenerationListener listener) {
        Optional<String> refused = refusal(request.promptTokens(), positions(request));
        if (refused.isPresent()) {
            return new Admission.Refused(refused.get());
        }
        return enqueue(new SequenceRun(request, listener, backend.tokenizer(), clock.nanos(), this::cancelQueued));
    }

    /**
     * {@inheritDoc} An embedding queues and batches as a generation does, its tokens run as
     * a prompt with a cache of as many positions; it is {@link Admission.Refused} where the
     * backend does not compute embeddings.
     *
     * @throws IllegalArgumentException when a token is outside the vocabulary or the tokens
     *                                  do not fit the context
     */
    @Override
    public Admission embed(EmbeddingRequest request, EmbeddingListener listener) {
        Optional<String> refused = backend.refusesEmbeddings()
                .map(reason -> "the model " + backend.info().name() + " cannot embed: " + reason)
                .or(() -> refusal(request.tokens(), Math.min(request.tokens().length, backend.positionLimit())));
        if (refused.isPresent()) {
            return new Admission.Refused(refused.get());
        }
        return enqueue(new EmbeddingRun(request, listener, this::cancelQueued));
    }

    /**
     * Why a prompt with a cache of {@code positions} can never run here; empty when it can.
     *
     * @throws IllegalArgumentException when a token is outside the vocabulary or the prompt does not fit the context
     */
    private Optional<String> refusal(int[] prompt, int positions) {
        ModelInfo info = backend.info();
        for (int token : prompt) {
            if (token < 0 || token >= info.vocabSize()) {
                throw new IllegalArgumentException("prompt token " + token + " is outside the vocabulary of "
                        + info.vocabSize());
            }
        }
        if (prompt.length > info.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, the context holds "
                    + info.contextLength());
        }
        if (prompt.length > backend.positionLimit()) {
            return Optional.of("the prompt has " + prompt.length + " tokens, a sequence on " + backend.device()
                    + " holds at most " + backend.positionLimit() + " positions");
        }
        return backend.neverHolds(positions);
    }

    /** Queues {@code run} unless the engine is quarantined, closed or full. */
    private Admission enqueue(Run run) {
        ModelInfo info = backend.info();
        lock.lock();
        try {
            if (quarantine != null) {
                return new Admission.Rejected("engine for " + info.name() + " is quarantined: " + quarantine,
                        RETRY_AFTER);
            }
            if (closed) {
                return new Admission.Rejected("engine for " + info.name() + " is closed", RETRY_AFTER);
            }
            int freePlaces = Math.max(0, backend.maxSequences() - runningCount);
            if (queue.size() >= config.queueCapacity() + freePlaces) {
                return new Admission.Rejected("engine for " + info.name() + " is full: " + runningCount
                        + " running, " + queue.size() + " queued", RETRY_AFTER);
            }
            queue.add(run);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
        return new Admission.Accepted(run);
    }

    /** Positions a request's cache holds: its prompt and its new tokens, at most the backend's limit. */
    private int positions(GenerationRequest request) {
        return request.cachePositions(backend.positionLimit());
    }

    /** A cancelled run still in the queue leaves it and finishes at once. */
    private void cancelQueued(Run run) {
        boolean wasQueued;
        lock.lock();
        try {
            wasQueued = queue.remove(run);
        } finally {
            lock.unlock();
        }
        if (wasQueued) {
            run.finish(FinishReason.CANCELLED, clock.nanos());
        }
    }

    @Override
    public int inFlight() {
        lock.lock();
        try {
            return queue.size() + runningCount;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Rejects new work, cancels queued and running sequences, waits for the scheduler, which
     * closes the backend. Must not be called from a listener (it waits for the listener's thread).
     */
    @Override
    public void close() {
        List<Run> dropped;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            dropped = new ArrayList<>(queue);
            queue.clear();
            workAvailable.signalAll();
        } finally {
            lock.unlock();
        }
        dropped.forEach(run -> run.finish(FinishReason.CANCELLED, clock.nanos()));
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The scheduler thread: opens the backend, serves until closed, closes the backend. */
    private void run(Supplier<StepBackend<P>> open, CompletableFuture<StepBackend<P>> opened) {
        StepBackend<P> b;
        try {
            b = open.get();
        } catch (RuntimeException | LinkageError e) {
            opened.completeExceptionally(e);
            return;
        }
        backend = b;
        opened.complete(b);
        var out = new StepBackend.StepOutput<P>(b.maxSequences());
        try {
            while (admit()) {
                leaveIfCancelled();
                if (!running.isEmpty()) {
                    step(out);
                }
            }
        } catch (RuntimeException | Error e) {
            // an Error too (out of memory, a stack overflow): the thread ends here, and an engine
            // whose scheduler is gone must say so rather than queue requests nobody runs
            quarantine("the engine failed: " + e);
            LOG.error("engine for {} on {} failed", b.info().name(), b.device(), e);
            failAll(e instanceof RuntimeException r ? r : new InferenceException("the engine failed: " + e, e));
        } finally {
            for (Sequence<P> sequence : List.copyOf(running)) {
                try {
                    leave(sequence);
                } catch (RuntimeException e) {
                    quarantine("device memory could not be cleaned when a sequence left: " + e.getMessage());
                }
                sequence.run().finish(FinishReason.CANCELLED, clock.nanos());
            }
            try {
                b.close().ifPresent(dirty ->
                        quarantine("device memory was not clean when the model was released: " + dirty));
            } catch (RuntimeException e) {
                quarantine("device memory could not be cleaned when the model was released: " + e.getMessage());
            }
        }
    }

    /** Moves queued sequences into the batch while they fit; waits when there is nothing to do. */
    private boolean admit() {
        Map<Run, RuntimeException> failed = null; // made only when a run fails to start, not every step
        String dirty = null;
        lock.lock();
        try {
            while (queue.isEmpty() && running.isEmpty() && !closed) {
                workAvailable.awaitUninterruptibly();
            }
            if (closed) {
                return false;
            }
            while (!queue.isEmpty() && quarantine == null && running.size() < backend.maxSequences()) {
                Run run = queue.peek();
                int positions = run.cachePositions(backend.positionLimit());
                P place = backend.claim(run.promptTokens(), run.prefixNames(), positions, run.cacheUse());
                if (place == null) {
                    break;
                }
                queue.poll();
                Sequence<P> sequence;
                try {
                    int reused = backend.reusedTokens(place);
                    run.start(positions, reused, clock.nanos());
                    sequence = new Sequence<>(run, place, reused);
                } catch (RuntimeException e) {
                    // the place goes back (a private one scrubbed) and the run fails, once the lock is released
                    dirty = backend.release(place).orElse(dirty);
                    if (failed == null) {
                        failed = new LinkedHashMap<>();
                    }
                    failed.put(run, e);
                    continue;
                }
                running.add(sequence);
                runningCount = running.size();
                embeddingsRunning += sequence.embedding() ? 1 : 0;
            }
            return true;
        } finally {
            lock.unlock();
            if (dirty != null) {
                quarantine(dirty);
            }
            if (failed != null) {
                failed.forEach(Run::fail);
            }
        }
    }

    private void leaveIfCancelled() {
        boolean any = false;
        for (Sequence<P> sequence : running) {
            any |= sequence.run().cancelled();
        }
        if (!any) {
            return; // the common case, without a copy of the list per step
        }
        for (Sequence<P> sequence : List.copyOf(running)) {
            if (sequence.run().cancelled()) {
                leave(sequence);
                sequence.run().finish(FinishReason.CANCELLED, clock.nanos());
            }
        }
    }

    /** One step over the batch, then each sequence with logits samples its next token. */
    private void step(StepBackend.StepOutput<P> out) {
        out.clear();
        try {
            backend.step(running, out);
        } catch (RuntimeException e) {
            if (!backend.survives(e)) {
                throw e;
            }
            LOG.warn("a step of {} failed; its {} sequences fail", backend.info().name(), running.size(), e);
            failAll(e);
            return;
        }
        for (int i = 0; i < out.count(); i++) {
            advance(out.sequence(i), out.logits(i));
        }
        if (embeddingsRunning > 0) {
            completeEmbeddings();
        }
    }

    /** Embeddings whose every position has run leave the batch and hand over their vector. */
    private void completeEmbeddings() {
        for (Sequence<P> sequence : List.copyOf(running)) {
            if (sequence.embedding() && sequence.promptLeft() == 0) {
                leave(sequence);
                try {
                    ((EmbeddingRun) sequence.run()).complete();
                } catch (RuntimeException e) {
                    sequence.run().fail(e);
                }
            }
        }
    }

    /**
     * Samples the next token of {@code sequence} and tells its listener; a finished sequence
     * leaves the batch before its listener hears so.
     */
    private void advance(Sequence<P> sequence, float[] logits) {
        long now = clock.nanos();
        FinishReason end;
        try {
            end = sequence.generation().advance(logits, now);
        } catch (RuntimeException e) {
            leave(sequence);
            sequence.run().fail(e);
            return;
        } catch (StackOverflowError e) {
            // what one request asked for (a constraint's recursion) fails that request alone
            leave(sequence);
            sequence.run().fail(new InferenceException("choosing the next token overflowed the stack", e));
            return;
        }
        if (end != null) {
            leave(sequence);
            sequence.generation().finish(end, now);
        }
    }

    private void failAll(RuntimeException e) {
        for (Sequence<P> sequence : List.copyOf(running)) {
            leave(sequence);
            sequence.run().fail(e);
        }
    }

    /** Takes a sequence out of the batch and frees its place; memory that is not clean quarantines the engine. */
    private void leave(Sequence<P> sequence) {
        if (!running.remove(sequence)) {
            return;
        }
        embeddingsRunning -= sequence.embedding() ? 1 : 0;
        try {
            backend.release(sequence.place()).ifPresent(this::quarantine);
        } finally {
            lock.lock();
            try {
                runningCount = running.size();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Takes the engine out of service for good: queued requests fail, new ones are rejected. */
    private void quarantine(String reason) {
        List<Run> dropped;
        lock.lock();
        try {
            if (quarantine != null) {
                return;
            }
            quarantine = reason;
            dropped = new ArrayList<>(queue);
            queue.clear();
        } finally {
            lock.unlock();
        }
        LOG.error("engine for {} on {} quarantined: {}", backend.info().name(), backend.device(), reason);
        var failure = new InferenceException("engine for " + backend.info().name() + " is quarantined: " + reason);
        dropped.forEach(run -> run.fail(failure));
        quarantineListener.accept(reason);
    }
}
