package io.gpud.inference.cuda;

import io.gpud.config.EngineConfig;
import io.gpud.inference.Admission;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Engine;
import io.gpud.inference.FinishReason;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.LlamaModel;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.SequenceRun;
import io.gpud.inference.Tokenizer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CUDA inference engine: the same contract as the CPU engine ({@link Engine}), with the
 * forward pass on the GPU ({@link CudaForward}).
 *
 * <p>One named platform thread owns the CUDA context for the engine's whole life: it
 * creates the context, uploads the weights, runs every step and frees the device when the
 * engine closes. Requests wait in a bounded queue; before each step, queued requests take
 * a free KV slot (there are {@code min(maxConcurrent, 32)}, each holding
 * {@code capacity} positions, sized from {@code kvCacheBytes}), cancelled ones leave. A
 * step runs one chunk of a waiting prompt (up to {@code maxBatchTokens} rows) and then the
 * next token of every generating sequence together as one captured decode graph. When a
 * sequence leaves, its slot and the activations are zeroed and checked; memory that does
 * not read back as zeros quarantines the engine: it refuses new requests and reports the
 * reason to the quarantine listener, for the node to take itself out of service.
 */
public final class CudaEngine implements Engine {
    private static final Logger LOG = LoggerFactory.getLogger(CudaEngine.class);
    private static final Duration RETRY_AFTER = Duration.ofSeconds(1);

    private final ModelInfo info;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final LlamaModel.Dimensions dimensions;
    private final EngineConfig config;
    private final LongSupplier nanoTime;
    private final Consumer<String> quarantineListener;
    final int slots;
    final int capacity;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final ArrayDeque<SequenceRun> queue = new ArrayDeque<>();
    private Thread owner;
    private int runningCount;
    private boolean closed;
    private volatile String quarantine;

    // owner thread only
    private final List<Running> running = new ArrayList<>();
    private final boolean[] slotBusy;

    private CudaEngine(LlamaModel model, EngineConfig config, LongSupplier nanoTime, Consumer<String> quarantineListener,
                       int slots, int capacity) {
        this.info = model.info();
        this.tokenizer = model.tokenizer();
        this.chatTemplate = model.chatTemplate();
        this.dimensions = model.dimensions();
        this.config = config;
        this.nanoTime = nanoTime;
        this.quarantineListener = quarantineListener;
        this.slots = slots;
        this.capacity = capacity;
        this.slotBusy = new boolean[slots];
    }

    /**
     * Starts an engine on {@code device}: uploads {@code model}'s weights, then closes the
     * model (its mapped weights are no longer needed). On failure the model stays open so
     * the caller can run it elsewhere.
     *
     * @throws CudaBackendException when the model does not fit or the device fails
     */
    public static CudaEngine start(LlamaModel model, EngineConfig config, CudaAvailability.Usable device,
                                   LongSupplier nanoTime, Consumer<String> quarantineListener) {
        LlamaModel.Dimensions d = model.dimensions();
        int slots = Math.min(config.maxConcurrent(), LaunchGeometry.MAX_GRAPH_BATCH);
        int capacity = slotCapacity(d, config.kvCacheBytes(), slots);
        var engine = new CudaEngine(model, config, nanoTime, quarantineListener, slots, capacity);
        var ready = new CompletableFuture<CudaForward>();
        engine.owner = Thread.ofPlatform().name("gpud-cuda-" + device.ordinal() + "-" + model.info().name())
                .daemon(true).unstarted(() -> engine.own(device, WeightSource.of(model), ready));
        engine.owner.start();
        try {
            ready.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof CudaBackendException c ? c
                    : new CudaBackendException("CUDA engine failed to start: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CudaBackendException("interrupted while the CUDA engine started", e);
        }
        model.close();
        return engine;
    }

    /**
     * Positions per KV slot: what {@code kvCacheBytes} gives each of {@code slots} slots plus
     * the scratch slot, at most the context, rounded down to a multiple of 4.
     */
    static int slotCapacity(LlamaModel.Dimensions d, long kvCacheBytes, int slots) {
        long perPosition = 2L * d.layers() * d.kvDim() * Float.BYTES;
        long positions = kvCacheBytes / ((slots + 1L) * perPosition);
        if (positions < 1) {
            throw new CudaBackendException("engine.kvCacheBytes " + kvCacheBytes + " holds no position for " + slots
                    + " sequences: one position of every slot takes " + (slots + 1L) * perPosition + " bytes");
        }
        int capacity = (int) Math.min(d.contextLength(), positions);
        // a multiple of 4 keeps every slot a whole number of the hygiene kernels' 16-byte words
        return capacity >= 4 ? capacity & ~3 : capacity;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    /** Why the engine took itself out of service, if it did. */
    public Optional<String> quarantineReason() {
        return Optional.ofNullable(quarantine);
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when a prompt token is outside the vocabulary or the
     *                                  prompt does not fit a KV slot
     */
    @Override
    public Admission submit(GenerationRequest request, GenerationListener listener) {
        for (int token : request.promptTokens()) {
            if (token < 0 || token >= dimensions.vocabSize()) {
                throw new IllegalArgumentException("prompt token " + token + " is outside the vocabulary of "
                        + dimensions.vocabSize());
            }
        }
        if (request.promptTokens().length > capacity) {
            throw new IllegalArgumentException("the prompt has " + request.promptTokens().length
                    + " tokens, a KV slot of this GPU engine holds " + capacity);
        }
        var run = new SequenceRun(request, listener, tokenizer, nanoTime.getAsLong(), cancelled -> { });
        lock.lock();
        try {
            if (quarantine != null) {
                return new Admission.Rejected("engine for " + info.name() + " is quarantined: " + quarantine,
                        RETRY_AFTER);
            }
            if (closed) {
                return new Admission.Rejected("engine for " + info.name() + " is closed", RETRY_AFTER);
            }
            if (queue.size() >= config.queueCapacity() + Math.max(0, slots - runningCount)) {
                return new Admission.Rejected("engine for " + info.name() + " is full: " + runningCount + " running, "
                        + queue.size() + " queued", RETRY_AFTER);
            }
            queue.add(run);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
        return new Admission.Accepted(run);
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
     * Rejects new work, cancels what is queued and running, zeroes and checks the device
     * memory, frees it and waits for the owner thread. Must not be called from a listener.
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
        while (owner.isAlive()) {
            try {
                owner.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The owner thread: the context's whole life. */
    private void own(CudaAvailability.Usable device, WeightSource weights, CompletableFuture<CudaForward> ready) {
        CudaForward forward;
        try {
            forward = new CudaForward(device, weights, KernelImage.load(), slots, capacity, config.maxBatchTokens());
        } catch (RuntimeException | LinkageError e) {
            ready.completeExceptionally(e);
            return;
        }
        LOG.info("{} on {}: {} MiB of weights, {} KV slots of {} positions, kernels from {}, decode graphs for {} rows",
                info.name(), device, forward.weightBytes() >> 20, slots, capacity,
                forward.kernelsFromPtx() ? "PTX (JIT)" : "the fatbin", java.util.Arrays.toString(LaunchGeometry.GRAPH_BATCHES));
        ready.complete(forward);
        try {
            var batch = new DecodeBatch(slots, dimensions.vocabSize());
            float[] promptLogits = new float[dimensions.vocabSize()];
            while (admit()) {
                leaveIfCancelled(forward);
                if (!running.isEmpty()) {
                    step(forward, batch, promptLogits);
                }
            }
        } catch (RuntimeException e) {
            quarantine("the CUDA engine failed: " + e.getMessage());
            LOG.error("CUDA engine for {} failed", info.name(), e);
            for (Running r : List.copyOf(running)) {
                running.remove(r);
                r.run.fail(e);
            }
        } finally {
            for (Running r : List.copyOf(running)) {
                running.remove(r);
                r.run.finish(FinishReason.CANCELLED, nanoTime.getAsLong());
            }
            try {
                if (forward.scrubAll() instanceof CudaForward.Hygiene.Dirty dirty) {
                    quarantine("device memory was not clean when the model was released: " + dirty.detail());
                }
            } catch (RuntimeException e) {
                quarantine("device memory could not be cleaned when the model was released: " + e.getMessage());
            } finally {
                forward.close();
            }
        }
    }

    private boolean admit() {
        lock.lock();
        try {
            while (queue.isEmpty() && running.isEmpty() && !closed) {
                workAvailable.awaitUninterruptibly();
            }
            if (closed) {
                return false;
            }
            while (!queue.isEmpty() && running.size() < slots) {
                SequenceRun run = queue.poll();
                int slot = freeSlot();
                slotBusy[slot] = true;
                int positions = run.cachePositions(capacity);
                run.start(positions, nanoTime.getAsLong());
                running.add(new Running(run, slot));
                runningCount = running.size();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private int freeSlot() {
        for (int s = 0; s < slotBusy.length; s++) {
            if (!slotBusy[s]) {
                return s;
            }
        }
        throw new IllegalStateException("no free KV slot with " + running.size() + " running");
    }

    private void leaveIfCancelled(CudaForward forward) {
        for (Running r : List.copyOf(running)) {
            if (r.run.cancelled()) {
                leave(forward, r);
                r.run.finish(FinishReason.CANCELLED, nanoTime.getAsLong());
            }
        }
    }

    /** Takes a sequence out of the batch and scrubs its slot and the activations. */
    private void leave(CudaForward forward, Running r) {
        running.remove(r);
        if (forward.scrub(r.slot) instanceof CudaForward.Hygiene.Dirty dirty) {
            quarantine(dirty.detail());
        }
        slotBusy[r.slot] = false;
        lock.lock();
        try {
            runningCount = running.size();
        } finally {
            lock.unlock();
        }
    }

    private void quarantine(String reason) {
        if (quarantine == null) {
            quarantine = reason;
            LOG.error("GPU engine for {} quarantined: {}", info.name(), reason);
            quarantineListener.accept(reason);
        }
    }

    /**
     * One step: the sequences generating when it starts decode their next token together,
     * after one chunk of the first prompt still being read (a sequence whose prompt ends in
     * this chunk samples its first token from the chunk's logits and decodes from the next step).
     */
    private void step(CudaForward forward, DecodeBatch batch, float[] promptLogits) {
        batch.rows = 0;
        for (Running r : running) {
            if (r.run.generating()) {
                batch.add(r);
            }
        }
        for (Running r : running) {
            if (!r.run.generating()) {
                int[] prompt = r.run.request().promptTokens();
                int count = Math.min(config.maxBatchTokens(), prompt.length - r.promptFed);
                boolean last = r.promptFed + count == prompt.length;
                forward.prefill(r.slot, prompt, r.promptFed, count, last ? promptLogits : null);
                r.promptFed += count;
                if (last) {
                    deliver(forward, r, promptLogits);
                }
                break;
            }
        }
        if (batch.rows > 0) {
            forward.decode(batch.rows, batch.tokens, batch.positions, batch.slotOf, batch.logits);
            for (int i = 0; i < batch.rows; i++) {
                deliver(forward, batch.members[i], batch.logits[i]);
            }
        }
    }

    private void deliver(CudaForward forward, Running r, float[] logits) {
        long now = nanoTime.getAsLong();
        FinishReason end;
        try {
            end = r.run.advance(logits, now);
        } catch (RuntimeException e) {
            leave(forward, r);
            r.run.fail(e);
            return;
        }
        if (end != null) {
            leave(forward, r);
            r.run.finish(end, now);
        }
    }

    /** A sequence in the batch: its run and its KV slot. Owner thread only. */
    private static final class Running {
        final SequenceRun run;
        final int slot;
        int promptFed;

        Running(SequenceRun run, int slot) {
            this.run = run;
            this.slot = slot;
        }
    }

    /** The rows of one decode step, reused. */
    private static final class DecodeBatch {
        final int[] tokens;
        final int[] positions;
        final int[] slotOf;
        final Running[] members;
        final float[][] logits;
        int rows;

        DecodeBatch(int maxRows, int vocab) {
            tokens = new int[maxRows];
            positions = new int[maxRows];
            slotOf = new int[maxRows];
            members = new Running[maxRows];
            logits = new float[maxRows][vocab];
        }

        void add(Running r) {
            tokens[rows] = r.run.nextToken();
            positions[rows] = r.run.position();
            slotOf[rows] = r.slot;
            members[rows] = r;
            rows++;
        }
    }
}
