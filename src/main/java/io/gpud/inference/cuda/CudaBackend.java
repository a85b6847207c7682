package io.gpud.inference.cuda;

import io.gpud.config.EngineConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Engine;
import io.gpud.inference.EngineScheduler;
import io.gpud.inference.LlamaModel;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.PrefixCache;
import io.gpud.inference.Sequence;
import io.gpud.inference.StepBackend;
import io.gpud.inference.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CUDA backend: the forward pass on the GPU ({@link CudaForward}), driven by the
 * engine's scheduler thread, which owns the CUDA context for the engine's whole life: it
 * creates the context, uploads the weights, runs every step and frees the device when the
 * engine closes.
 *
 * <p>The KV cache is cut into {@code min(maxConcurrent, 32)} slots of {@code capacity}
 * positions each, sized from {@code kvCacheBytes}; a sequence takes a free slot. A step runs
 * one chunk of the first prompt still being read (up to {@code maxBatchTokens} rows) and
 * then the next token of every generating sequence together as one captured decode graph.
 * When a sequence leaves, its slot and the activations are zeroed and checked; memory that
 * does not read back as zeros quarantines the engine (see {@link EngineScheduler}), and so
 * does a failed step: a CUDA context after a failed launch is not trusted again.
 *
 * <p>It does not reuse prompt prefixes yet: slots are not cut into the blocks a
 * {@link PrefixCache} manages, so every prompt runs whole, {@link #prefixCache()} is empty
 * and a secure-envelope request's slot is zeroed like any other.
 */
public final class CudaBackend implements StepBackend<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CudaBackend.class);

    private final ModelInfo info;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final EngineConfig config;
    private final CudaAvailability.Usable device;
    private final CudaForward forward;
    private final int slots;
    private final int capacity;
    private final boolean[] slotBusy;
    private final DecodeBatch batch;
    private final float[] promptLogits;

    private CudaBackend(LlamaModel model, EngineConfig config, CudaAvailability.Usable device, int slots,
                        int capacity) {
        this.info = model.info();
        this.tokenizer = model.tokenizer();
        this.chatTemplate = model.chatTemplate();
        this.config = config;
        this.device = device;
        this.slots = slots;
        this.capacity = capacity;
        this.forward = new CudaForward(device, WeightSource.of(model), KernelImage.load(), slots, capacity,
                config.maxBatchTokens());
        this.slotBusy = new boolean[slots];
        int vocab = model.dimensions().vocabSize();
        this.batch = new DecodeBatch(slots, vocab);
        this.promptLogits = new float[vocab];
        LOG.info("{} on {}: {} MiB of weights, {} KV slots of {} positions, kernels from {}, decode graphs for {} rows",
                info.name(), device, forward.weightBytes() >> 20, slots, capacity,
                forward.kernelsFromPtx() ? "PTX (JIT)" : "the fatbin", Arrays.toString(LaunchGeometry.GRAPH_BATCHES));
    }

    /**
     * Starts an engine on {@code device}: uploads {@code model}'s weights, then closes the
     * model (its mapped weights are no longer needed). On failure the model stays open so
     * the caller can run it elsewhere.
     *
     * @throws CudaBackendException when the model is not a plain Llama ({@link LlamaModel#beyondPlainLlama}),
     *                              a weight type has no CUDA kernel, the model does not fit or
     *                              the device fails
     */
    public static Engine start(LlamaModel model, EngineConfig config, CudaAvailability.Usable device,
                               MonotonicClock clock, Consumer<String> quarantineListener) {
        List<String> beyond = model.beyondPlainLlama();
        if (!beyond.isEmpty()) {
            throw new CudaBackendException("the CUDA backend runs the plain Llama forward pass only; "
                    + model.info().name() + " has " + String.join(", ", beyond));
        }
        DeviceTensor.requireKernels(WeightSource.of(model));
        int slots = Math.min(config.maxConcurrent(), LaunchGeometry.MAX_GRAPH_BATCH);
        int capacity = slotCapacity(model.dimensions(), config.kvCacheBytes(), slots);
        Engine engine;
        try {
            engine = EngineScheduler.start("gpud-cuda-" + device.ordinal() + "-" + model.info().name(), config,
                    clock, quarantineListener, () -> new CudaBackend(model, config, device, slots, capacity));
        } catch (CudaBackendException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new CudaBackendException("CUDA engine failed to start: " + e, e);
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
        int positionsPerSlot = (int) Math.min(d.contextLength(), positions);
        // a multiple of 4 keeps every slot a whole number of the hygiene kernels' 16-byte words
        return positionsPerSlot >= 4 ? positionsPerSlot & ~3 : positionsPerSlot;
    }

    @Override
    public String device() {
        return "cuda:" + device.ordinal() + " " + device.name();
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

    @Override
    public int maxSequences() {
        return slots;
    }

    @Override
    public int positionLimit() {
        return capacity;
    }

    /** Every sequence within {@link #positionLimit} fits a slot. */
    @Override
    public Optional<String> neverHolds(int positions) {
        return Optional.empty();
    }

    @Override
    public Integer claim(int[] prompt, long[] names, int positions, PrefixCache.Use use) {
        for (int s = 0; s < slotBusy.length; s++) {
            if (!slotBusy[s]) {
                slotBusy[s] = true;
                return s;
            }
        }
        return null;
    }

    /**
     * The sequences generating when the step starts decode their next token together, after
     * one chunk of the first prompt still being read (a sequence whose prompt ends in this
     * chunk samples its first token from the chunk's logits and decodes from the next step).
     */
    @Override
    public void step(List<Sequence<Integer>> running, StepOutput<Integer> out) {
        batch.rows = 0;
        for (Sequence<Integer> s : running) {
            if (s.generating()) {
                batch.add(s);
            }
        }
        for (Sequence<Integer> s : running) {
            if (s.promptLeft() > 0) {
                int count = Math.min(config.maxBatchTokens(), s.promptLeft());
                boolean last = count == s.promptLeft();
                int first = s.feed(count);
                forward.prefill(s.place(), s.prompt(), first, count, last ? promptLogits : null);
                if (last) {
                    out.add(s, promptLogits);
                }
                break;
            }
        }
        if (batch.rows > 0) {
            forward.decode(batch.rows, batch.tokens, batch.positions, batch.slotOf, batch.logits);
            for (int i = 0; i < batch.rows; i++) {
                out.add(batch.members[i], batch.logits[i]);
            }
        }
    }

    /** A failed launch leaves the context in an unknown state: the engine is quarantined. */
    @Override
    public boolean survives(RuntimeException failure) {
        return false;
    }

    /** Zeroes the slot and the activations and reads them back. */
    @Override
    public Optional<String> release(Integer slot) {
        CudaForward.Hygiene hygiene = forward.scrub(slot);
        slotBusy[slot] = false;
        return hygiene instanceof CudaForward.Hygiene.Dirty dirty ? Optional.of(dirty.detail()) : Optional.empty();
    }

    /** Zeroes and checks every slot, then frees the device. */
    @Override
    public Optional<String> close() {
        try {
            return forward.scrubAll() instanceof CudaForward.Hygiene.Dirty dirty
                    ? Optional.of(dirty.detail()) : Optional.empty();
        } finally {
            forward.close();
        }
    }

    /** The rows of one decode step, reused. */
    private static final class DecodeBatch {
        final int[] tokens;
        final int[] positions;
        final int[] slotOf;
        final Sequence<Integer>[] members;
        final float[][] logits;
        int rows;

        @SuppressWarnings("unchecked")
        DecodeBatch(int maxRows, int vocab) {
            tokens = new int[maxRows];
            positions = new int[maxRows];
            slotOf = new int[maxRows];
            members = new Sequence[maxRows];
            logits = new float[maxRows][vocab];
        }

        void add(Sequence<Integer> s) {
            tokens[rows] = s.nextToken();
            positions[rows] = s.position();
            slotOf[rows] = s.place();
            members[rows] = s;
            rows++;
        }
    }
}
