package io.gpud.inference;

import io.gpud.config.EngineConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU inference engine: one sequence at a time per worker thread, float32 arithmetic,
 * weights memory-mapped and shared by all workers.
 *
 * <p>Admission: at most {@code maxConcurrent} sequences run (one per worker, each with its
 * own KV cache) and at most {@code queueCapacity} more wait; beyond that {@link #submit}
 * answers {@link Admission.Rejected} with a Retry-After of one second.
 *
 * <p>One generation: the prompt is run through the model token by token, then tokens are
 * sampled one at a time. It ends with {@link FinishReason#STOP} on an end-of-generation
 * token (unless {@code ignoreEos}) or a stop sequence, with {@link FinishReason#LENGTH} at
 * {@code maxTokens} or when the context is full, and with {@link FinishReason#CANCELLED}
 * when cancelled (checked before every step). Every sampled token, including the end token
 * that stops a generation, is passed to {@link GenerationListener#onToken} with the text it
 * made final (see {@link TextStream}) and counted in {@link Completion#completionTokens()}.
 */
public final class CpuEngine implements Engine {
    private static final Logger LOG = LoggerFactory.getLogger(CpuEngine.class);
    private static final Duration RETRY_AFTER = Duration.ofSeconds(1);

    private final LoadedModel model;
    private final EngineConfig config;
    private final LongSupplier nanoTime;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private final Set<Job> running = new HashSet<>();
    private final List<Thread> workers = new ArrayList<>();
    private boolean closed;

    CpuEngine(LoadedModel model, EngineConfig config, LongSupplier nanoTime) {
        this.model = model;
        this.config = config;
        this.nanoTime = nanoTime;
        for (int i = 0; i < config.maxConcurrent(); i++) {
            Thread worker = Thread.ofPlatform()
                    .name("gpud-cpu-engine-" + model.info().name() + "-" + i)
                    .daemon(true)
                    .unstarted(this::work);
            workers.add(worker);
        }
        workers.forEach(Thread::start);
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
        var job = new Job(request, listener, nanoTime.getAsLong());
        lock.lock();
        try {
            if (closed) {
                return new Admission.Rejected("engine for " + model.info().name() + " is closed", RETRY_AFTER);
            }
            if (queue.size() + running.size() >= config.queueCapacity() + config.maxConcurrent()) {
                return new Admission.Rejected("engine for " + model.info().name() + " is full: " + running.size()
                        + " running, " + queue.size() + " queued", RETRY_AFTER);
            }
            queue.add(job);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
        return new Admission.Accepted(job);
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
        if (model.tokenizer() instanceof IdOnlyTokenizer && !request.stop().isEmpty()) {
            throw new IllegalArgumentException("stop sequences need text, and model " + model.info().name()
                    + " has no tokenizer");
        }
    }

    @Override
    public int inFlight() {
        lock.lock();
        try {
            return queue.size() + running.size();
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
     * Rejects new work, cancels queued and running sequences, waits for the workers, unmaps
     * the weights. Must not be called from a listener (it waits for the listener's thread).
     */
    @Override
    public void close() {
        List<Job> dropped;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            dropped = new ArrayList<>(queue);
            queue.clear();
            running.forEach(job -> job.cancelled.set(true));
            workAvailable.signalAll();
        } finally {
            lock.unlock();
        }
        dropped.forEach(job -> job.finish(FinishReason.CANCELLED, 0, 0, 0, 0));
        boolean interrupted = false;
        for (Thread worker : workers) {
            while (worker.isAlive()) {
                try {
                    worker.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        model.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void work() {
        Llama.State state = null;
        while (true) {
            Job job;
            lock.lock();
            try {
                while (queue.isEmpty() && !closed) {
                    workAvailable.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
                job = queue.poll();
                running.add(job);
            } finally {
                lock.unlock();
            }
            try {
                if (state == null) {
                    state = model.llama().newState();
                }
                generate(job, state);
            } catch (RuntimeException e) {
                job.fail(e);
            } finally {
                lock.lock();
                try {
                    running.remove(job);
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    private void generate(Job job, Llama.State state) {
        GenerationRequest request = job.request;
        Llama llama = model.llama();
        Tokenizer tokenizer = model.tokenizer();
        int contextLength = llama.config().contextLength();
        int[] prompt = request.promptTokens();
        long started = nanoTime.getAsLong();
        long queued = started - job.submittedNanos;

        float[] logits = null;
        int pos = 0;
        for (int token : prompt) {
            if (job.cancelled.get()) {
                job.finish(FinishReason.CANCELLED, prompt.length, 0, queued, nanoTime.getAsLong() - started);
                return;
            }
            logits = llama.forward(state, token, pos++);
        }
        long promptDone = nanoTime.getAsLong();
        long promptNanos = promptDone - started;

        var sampler = new Sampler(request.sampling());
        var text = tokenizer instanceof IdOnlyTokenizer ? null : new TextStream(request.stop());
        int previous = prompt[prompt.length - 1];
        int generated = 0;
        while (true) {
            if (job.cancelled.get()) {
                job.finish(FinishReason.CANCELLED, prompt.length, generated, queued, promptNanos,
                        nanoTime.getAsLong() - promptDone);
                return;
            }
            int next = sampler.sample(logits);
            generated++;
            boolean end = !request.ignoreEos() && tokenizer.isEndOfGeneration(next);
            boolean full = generated >= request.maxTokens() || pos >= contextLength;
            String piece = "";
            if (text != null) {
                byte[] bytes = tokenizer instanceof SentencePieceTokenizer sp
                        ? sp.tokenBytes(previous, next)
                        : tokenizer.tokenBytes(next);
                piece = text.push(bytes, end || full);
            }
            job.listener.onToken(next, piece);
            if (end || (text != null && text.stopped()) || full) {
                FinishReason reason = end || text != null && text.stopped() ? FinishReason.STOP : FinishReason.LENGTH;
                job.finish(reason, prompt.length, generated, queued, promptNanos, nanoTime.getAsLong() - promptDone);
                return;
            }
            logits = llama.forward(state, next, pos++);
            previous = next;
        }
    }

    /** One admitted request: its listener, its cancellation flag, and the promise to finish once. */
    private final class Job implements Generation {
        final GenerationRequest request;
        final GenerationListener listener;
        final long submittedNanos;
        final AtomicBoolean cancelled = new AtomicBoolean();
        private final AtomicBoolean finished = new AtomicBoolean();

        Job(GenerationRequest request, GenerationListener listener, long submittedNanos) {
            this.request = request;
            this.listener = listener;
            this.submittedNanos = submittedNanos;
        }

        @Override
        public String requestId() {
            return request.requestId();
        }

        @Override
        public void cancel() {
            cancelled.set(true);
            boolean wasQueued;
            lock.lock();
            try {
                wasQueued = queue.remove(this);
            } finally {
                lock.unlock();
            }
            if (wasQueued) {
                finish(FinishReason.CANCELLED, 0, 0, nanoTime.getAsLong() - submittedNanos, 0, 0);
            }
        }

        void finish(FinishReason reason, int promptTokens, int completionTokens, long queuedNanos,
                    long promptNanos) {
            finish(reason, promptTokens, completionTokens, queuedNanos, promptNanos, 0);
        }

        void finish(FinishReason reason, int promptTokens, int completionTokens, long queuedNanos,
                    long promptNanos, long decodeNanos) {
            if (finished.compareAndSet(false, true)) {
                listener.onDone(new Completion(reason, promptTokens, completionTokens, queuedNanos, promptNanos,
                        decodeNanos));
            }
        }

        void fail(RuntimeException error) {
            if (finished.compareAndSet(false, true)) {
                try {
                    listener.onFailure(error);
                } catch (RuntimeException listenerError) {
                    LOG.warn("listener of request {} failed while handling a failure", request.requestId(), listenerError);
                }
            } else {
                LOG.warn("request {} failed after it finished", request.requestId(), error);
            }
        }
    }
}
