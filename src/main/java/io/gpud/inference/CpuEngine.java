package io.gpud.inference;

import io.gpud.config.EngineConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The CPU inference engine: continuous (iteration-level) batching over one scheduler
 * thread, float32 arithmetic, weights memory-mapped, KV caches off-heap.
 *
 * <p>Design. Requests wait in a bounded queue; the scheduler runs steps. Before every step,
 * queued sequences join the running batch while it has fewer than {@code maxConcurrent}
 * sequences and their KV caches fit the {@code kvCacheBytes} budget (a cache holds the
 * prompt plus {@code maxTokens} positions, at most the context); cancelled sequences leave.
 * A step then runs, in one forward pass, the next token of every generating sequence plus
 * as much of the waiting prompts as {@code maxBatchTokens} allows, so a new prompt is
 * processed as a matrix × matrix product alongside the generation of the others, and every
 * weight is read once per step for all of them. After the step each sequence whose logits
 * were computed samples its next token; finished sequences leave at once and free their
 * cache. Since the forward pass computes every row exactly as it would alone (see
 * {@link Llama}), batching is invisible in the results: greedy decoding gives the same ids
 * bit for bit alone or among others.
 *
 * <p>Admission: at most {@code queueCapacity} requests wait; beyond that {@link #submit}
 * answers {@link Admission.Rejected} with a Retry-After of one second.
 *
 * <p>One generation ends with {@link FinishReason#STOP} on an end-of-generation token
 * (unless {@code ignoreEos}) or a stop sequence, with {@link FinishReason#LENGTH} at
 * {@code maxTokens} or when the context is full, and with {@link FinishReason#CANCELLED}
 * when cancelled (checked before every step). Every sampled token, including the end token
 * that stops a generation, is passed to {@link GenerationListener#onToken} with the text it
 * made final (see {@link TextStream}) and counted in {@link Completion#completionTokens()}.
 * Listeners run on the scheduler thread and must be quick.
 */
public final class CpuEngine implements Engine {
    private static final Duration RETRY_AFTER = Duration.ofSeconds(1);

    private final LoadedModel model;
    private final EngineConfig config;
    private final LongSupplier nanoTime;
    private final Parallel threads;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final ArrayDeque<SequenceRun> queue = new ArrayDeque<>();
    private final Thread scheduler;
    private int runningCount;
    private boolean closed;

    // scheduler thread only
    private final List<Sequence> running = new ArrayList<>();
    private long kvBytesInUse;

    CpuEngine(LoadedModel model, EngineConfig config, LongSupplier nanoTime) {
        this.model = model;
        this.config = config;
        this.nanoTime = nanoTime;
        this.threads = new Parallel(config.threads());
        this.scheduler = Thread.ofPlatform()
                .name("gpud-cpu-engine-" + model.info().name())
                .daemon(true)
                .unstarted(this::schedule);
        scheduler.start();
    }

    /**
     * Loads a model and starts an engine on it.
     *
     * @param modelFile     a GGUF file, or a llama2.c checkpoint (told apart by the magic)
     * @param tokenizerFile a llama2.c tokenizer.bin, or null: GGUF models then use their
     *                      own tokenizer, llama2.c models work on token ids only
     * @param servedName    the name clients use, or null for the file name without extension
     * @param config        queue and concurrency limits
     */
    public static Engine load(Path modelFile, Path tokenizerFile, String servedName, EngineConfig config) {
        String name = servedName != null ? servedName : defaultName(modelFile);
        long created = Clock.systemUTC().instant().getEpochSecond();
        LoadedModel model = LlamaLoader.load(modelFile, tokenizerFile, name, created);
        return new CpuEngine(model, config, System::nanoTime);
    }

    private static String defaultName(Path file) {
        String fileName = file.getFileName().toString();
        int dot = fileName.lastIndexOf('.');
        return dot > 0 ? fileName.substring(0, dot) : fileName;
    }

    @Override
    public ModelInfo info() {
        return model.info();
    }

    @Override
    public Tokenizer tokenizer() {
        return model.tokenizer();
    }

    @Override
    public ChatTemplate chatTemplate() {
        return model.chatTemplate();
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
        checkRequest(request);
        var run = new SequenceRun(request, listener, model.tokenizer(), nanoTime.getAsLong(), this::cancelQueued);
        lock.lock();
        try {
            if (closed) {
                return new Admission.Rejected("engine for " + model.info().name() + " is closed", RETRY_AFTER);
            }
            if (queue.size() >= config.queueCapacity() + Math.max(0, config.maxConcurrent() - runningCount)) {
                return new Admission.Rejected("engine for " + model.info().name() + " is full: " + runningCount
                        + " running, " + queue.size() + " queued", RETRY_AFTER);
            }
            queue.add(run);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
        return new Admission.Accepted(run);
    }

    /** A cancelled run still in the queue leaves it and finishes at once. */
    private void cancelQueued(SequenceRun run) {
        boolean wasQueued;
        lock.lock();
        try {
            wasQueued = queue.remove(run);
        } finally {
            lock.unlock();
        }
        if (wasQueued) {
            run.finish(FinishReason.CANCELLED, nanoTime.getAsLong());
        }
    }

    private void checkRequest(GenerationRequest request) {
        LlamaConfig c = model.llama().config();
        for (int token : request.promptTokens()) {
            if (token < 0 || token >= c.vocabSize()) {
                throw new IllegalArgumentException("prompt token " + token + " is outside the vocabulary of "
                        + c.vocabSize());
            }
        }
        if (request.promptTokens().length > c.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + request.promptTokens().length
                    + " tokens, the context holds " + c.contextLength());
        }
        long kvBytes = model.llama().kvCacheBytes(cachePositions(request));
        if (kvBytes > config.kvCacheBytes()) {
            throw new IllegalArgumentException("the request needs " + kvBytes + " bytes of KV cache for "
                    + cachePositions(request) + " positions, the engine has " + config.kvCacheBytes());
        }
        if (model.tokenizer() instanceof IdOnlyTokenizer && !request.stop().isEmpty()) {
            throw new IllegalArgumentException("stop sequences need text, and model " + model.info().name()
                    + " has no tokenizer");
        }
    }

    /** Positions a request's KV cache holds: its prompt and its new tokens, at most the context. */
    private int cachePositions(GenerationRequest request) {
        long wanted = (long) request.promptTokens().length + request.maxTokens();
        return (int) Math.min(model.llama().config().contextLength(), wanted);
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
     * Rejects new work, cancels queued and running sequences, waits for the scheduler, unmaps
     * the weights. Must not be called from a listener (it waits for the listener's thread).
     */
    @Override
    public void close() {
        List<SequenceRun> dropped;
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
        dropped.forEach(run -> run.finish(FinishReason.CANCELLED, nanoTime.getAsLong()));
        boolean interrupted = false;
        while (scheduler.isAlive()) {
            try {
                scheduler.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        threads.close();
        model.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void schedule() {
        Llama llama = model.llama();
        Llama.Workspace workspace = llama.new Workspace(config.maxBatchTokens(), config.maxConcurrent(), threads);
        var batch = new StepBatch(config.maxBatchTokens(), config.maxConcurrent());
        try {
            while (admit()) {
                leaveIfCancelled();
                if (!running.isEmpty()) {
                    step(llama, workspace, batch);
                }
            }
        } finally {
            for (Sequence sequence : List.copyOf(running)) {
                leave(sequence);
                sequence.run.finish(FinishReason.CANCELLED, nanoTime.getAsLong());
            }
        }
    }

    /** Moves queued sequences into the batch while they fit; waits when there is nothing to do. */
    private boolean admit() {
        lock.lock();
        try {
            while (queue.isEmpty() && running.isEmpty() && !closed) {
                workAvailable.awaitUninterruptibly();
            }
            if (closed) {
                return false;
            }
            while (!queue.isEmpty() && running.size() < config.maxConcurrent()) {
                SequenceRun run = queue.peek();
                int positions = cachePositions(run.request());
                long bytes = model.llama().kvCacheBytes(positions);
                if (kvBytesInUse + bytes > config.kvCacheBytes()) {
                    break;
                }
                queue.poll();
                kvBytesInUse += bytes;
                run.start(positions, nanoTime.getAsLong());
                running.add(new Sequence(run, model.llama().new KvCache(positions), bytes));
                runningCount = running.size();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void leaveIfCancelled() {
        boolean any = false;
        for (Sequence sequence : running) {
            any |= sequence.run.cancelled();
        }
        if (!any) {
            return; // the common case, without a copy of the list per step
        }
        for (Sequence sequence : List.copyOf(running)) {
            if (sequence.run.cancelled()) {
                leave(sequence);
                sequence.run.finish(FinishReason.CANCELLED, nanoTime.getAsLong());
            }
        }
    }

    private void leave(Sequence sequence) {
        running.remove(sequence);
        sequence.cache.close();
        lock.lock();
        try {
            kvBytesInUse -= sequence.kvBytes;
            runningCount = running.size();
        } finally {
            lock.unlock();
        }
    }

    /** One forward pass: the next token of every generating sequence, then prompt chunks. */
    private void step(Llama llama, Llama.Workspace workspace, StepBatch batch) {
        batch.clear();
        for (Sequence sequence : running) {
            if (sequence.promptFed == sequence.prompt.length) {
                batch.add(sequence, sequence.run.nextToken(), sequence.run.position(), true);
            }
        }
        for (Sequence sequence : running) {
            while (sequence.promptFed < sequence.prompt.length && batch.rows < batch.tokens.length) {
                int i = sequence.promptFed++;
                batch.add(sequence, sequence.prompt[i], i, i == sequence.prompt.length - 1);
            }
        }
        try {
            llama.forward(workspace, batch.rows, batch.tokens, batch.positions, batch.caches, batch.logitRows,
                    batch.logitCount);
        } catch (RuntimeException e) {
            for (Sequence sequence : List.copyOf(running)) {
                leave(sequence);
                sequence.run.fail(e);
            }
            return;
        }
        for (int j = 0; j < batch.logitCount; j++) {
            Sequence sequence = batch.logitSequences[j];
            try {
                advance(sequence, workspace.logits[j]);
            } catch (RuntimeException e) {
                if (running.contains(sequence)) {
                    leave(sequence);
                }
                sequence.run.fail(e);
            }
        }
    }

    /**
     * Samples the next token of {@code sequence} and tells its listener; a finished sequence
     * leaves the batch before its listener hears so, so its place is free for the next request.
     */
    private void advance(Sequence sequence, float[] logits) {
        long now = nanoTime.getAsLong();
        FinishReason end = sequence.run.advance(logits, now);
        if (end != null) {
            leave(sequence);
            sequence.run.finish(end, now);
        }
    }

    /** A running sequence: its run, its cache and how much of its prompt has been fed. Scheduler thread only. */
    private static final class Sequence {
        final SequenceRun run;
        final Llama.KvCache cache;
        final long kvBytes;
        final int[] prompt;
        int promptFed;

        Sequence(SequenceRun run, Llama.KvCache cache, long kvBytes) {
            this.run = run;
            this.cache = cache;
            this.kvBytes = kvBytes;
            this.prompt = run.request().promptTokens();
        }
    }

    /** The rows of one step, reused from step to step. */
    private static final class StepBatch {
        final int[] tokens;
        final int[] positions;
        final Llama.KvCache[] caches;
        final int[] logitRows;
        final Sequence[] logitSequences;
        int rows;
        int logitCount;

        StepBatch(int maxRows, int maxSequences) {
            tokens = new int[maxRows];
            positions = new int[maxRows];
            caches = new Llama.KvCache[maxRows];
            logitRows = new int[maxSequences];
            logitSequences = new Sequence[maxSequences];
        }

        void clear() {
            rows = 0;
            logitCount = 0;
            Arrays.fill(caches, null);
            Arrays.fill(logitSequences, null);
        }

        void add(Sequence sequence, int token, int position, boolean wantsLogits) {
            tokens[rows] = token;
            positions[rows] = position;
            caches[rows] = sequence.cache;
            if (wantsLogits) {
                logitRows[logitCount] = rows;
                logitSequences[logitCount++] = sequence;
            }
            rows++;
        }
    }
}
