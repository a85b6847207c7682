package io.gpud.inference;

import io.gpud.config.EngineConfig;
import io.gpud.core.MonotonicClock;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The CPU backend: float32 arithmetic with the Vector API, weights memory-mapped, the KV
 * memory off-heap in blocks of {@code kvBlockTokens} positions ({@link Llama.KvBlocks}),
 * {@code ⌈kvCacheBytes / bytes per block⌉} of them (the budget rounded up to a whole block,
 * at most {@link #MAX_POSITIONS} positions), allocated as they are first used. A
 * sequence claims the blocks of its prompt plus {@code maxTokens} positions from the
 * {@link PrefixCache}, which hands a shared one the cached blocks of the longest prefix of
 * its prompt that an earlier sequence computed, so it runs only the rest; its own full
 * blocks are left for later ones. A private (secure-envelope) sequence's blocks are zeroed
 * when it leaves.
 *
 * <p>A step runs, in one forward pass, the next token of every generating sequence plus as
 * much of the waiting prompts as {@code maxBatchTokens} allows, so a new prompt is
 * processed as a matrix × matrix product alongside the generation of the others, and every
 * weight is read once per step for all of them. Since the forward pass computes every row
 * exactly as it would alone (see {@link Llama}), batching is invisible in the results:
 * greedy decoding gives the same ids bit for bit alone or among others.
 */
public final class CpuBackend implements StepBackend<Llama.KvCache> {
    /**
     * Most positions of KV memory: the prefix cache keeps each one's token on the heap (and
     * about 40 bytes a block), so a tiny model under a large budget is held to 2^22 positions.
     */
    private static final int MAX_POSITIONS = 1 << 22;

    private final LoadedModel model;
    private final EngineConfig config;
    private final Parallel threads;
    private final Llama.Workspace workspace;
    private final StepRows rows;
    private final Llama.KvBlocks memory;
    private final PrefixCache cache;

    /** The backend on {@code model}, for a scheduler to open on its thread. */
    CpuBackend(LoadedModel model, EngineConfig config) {
        this.model = model;
        this.config = config;
        this.threads = new Parallel(config.threads());
        this.workspace = model.llama().new Workspace(config.maxBatchTokens(), config.maxConcurrent(), threads);
        this.rows = new StepRows(config.maxBatchTokens(), config.maxConcurrent());
        Llama llama = model.llama();
        long blockBytes = llama.kvCacheBytes(config.kvBlockTokens());
        int blocks = (int) Math.min(MAX_POSITIONS / config.kvBlockTokens(),
                (config.kvCacheBytes() + blockBytes - 1) / blockBytes);
        this.memory = llama.new KvBlocks(blocks, config.kvBlockTokens());
        this.cache = new PrefixCache(blocks, config.kvBlockTokens(), PrefixHashes.seed(model.info()),
                config.prefixCaching(), memory::zero);
    }

    /**
     * Loads a model and starts an engine on it, on the CPU.
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
        return start(model, config, MonotonicClock.system(), reason -> { });
    }

    /** Starts an engine on {@code model}, which it then owns (closing the engine closes the model). */
    static Engine start(LoadedModel model, EngineConfig config, MonotonicClock clock,
                        Consumer<String> quarantineListener) {
        return EngineScheduler.start("gpud-cpu-engine-" + model.info().name(), config, clock,
                quarantineListener, () -> new CpuBackend(model, config));
    }

    private static String defaultName(Path file) {
        String fileName = file.getFileName().toString();
        int dot = fileName.lastIndexOf('.');
        return dot > 0 ? fileName.substring(0, dot) : fileName;
    }

    @Override
    public String device() {
        return "cpu";
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

    @Override
    public int maxSequences() {
        return config.maxConcurrent();
    }

    @Override
    public int positionLimit() {
        return model.llama().config().contextLength();
    }

    @Override
    public Optional<String> neverHolds(int positions) {
        if (cache.blocksFor(positions) <= cache.blocks()) {
            return Optional.empty();
        }
        return Optional.of("the request needs " + model.llama().kvCacheBytes(positions) + " bytes of KV cache for "
                + positions + " positions (prompt and max tokens), the engine has " + config.kvCacheBytes()
                + " (engine.kvCacheBytes)");
    }

    @Override
    public Llama.KvCache claim(int[] prompt, long[] names, int positions, PrefixCache.Use use) {
        PrefixCache.Table table = cache.claim(prompt, names, positions, use);
        if (table == null) {
            return null;
        }
        try {
            return model.llama().new KvCache(memory, table, positions);
        } catch (RuntimeException e) {
            cache.release(table);
            throw e;
        }
    }

    @Override
    public int reusedTokens(Llama.KvCache place) {
        return place.table.reusedTokens();
    }

    @Override
    public Optional<PrefixCacheView> prefixCache() {
        return Optional.of(cache);
    }

    /** The KV memory, for tests that read it back. */
    Llama.KvBlocks memory() {
        return memory;
    }

    /** Embeddings run as prompts whose every row's final hidden state is pooled. */
    @Override
    public Optional<String> refusesEmbeddings() {
        return Optional.empty();
    }

    /**
     * Generating sequences first, one row each; then prompt rows while {@code maxBatchTokens}
     * allows. An embedding's rows leave their final hidden state, pooled after the pass.
     */
    @Override
    public void step(List<Sequence<Llama.KvCache>> running, StepOutput<Llama.KvCache> out) {
        rows.clear();
        for (Sequence<Llama.KvCache> sequence : running) {
            if (sequence.generating()) {
                rows.add(sequence, sequence.nextToken(), sequence.position(), true);
            }
        }
        for (Sequence<Llama.KvCache> sequence : running) {
            int count = Math.min(sequence.promptLeft(), rows.free());
            if (count == 0) {
                continue;
            }
            int first = sequence.feed(count);
            boolean embedding = sequence.embedding();
            for (int i = first; i < first + count; i++) {
                rows.add(sequence, sequence.prompt()[i], i, !embedding && i == sequence.prompt().length - 1);
                if (embedding) {
                    rows.hidden(sequence);
                }
            }
        }
        model.llama().forward(workspace, rows.count, rows.tokens, rows.positions, rows.caches, rows.logitRows,
                rows.logitCount, rows.hiddenRows, rows.hiddenCount);
        for (int r = 0; r < rows.count; r++) {
            cache.written(rows.caches[r].table, rows.positions[r], rows.tokens[r]);
        }
        for (int j = 0; j < rows.logitCount; j++) {
            out.add(rows.logitSequences[j], workspace.logits[j]);
        }
        int width = model.llama().config().dim();
        for (int j = 0; j < rows.hiddenCount; j++) {
            rows.hiddenSequences[j].pool(workspace.x[rows.hiddenRows[j]], width);
        }
    }

    /** The CPU's memory stays usable after a failed step: only that step's sequences fail. */
    @Override
    public boolean survives(RuntimeException failure) {
        return true;
    }

    /**
     * Frees the sequence's blocks: those registered stay cached for later prompts, the
     * others are free for any sequence, a private sequence's zeroed first.
     */
    @Override
    public Optional<String> release(Llama.KvCache place) {
        cache.release(place.table);
        return Optional.empty();
    }

    @Override
    public Optional<String> close() {
        memory.close();
        threads.close();
        model.close();
        return Optional.empty();
    }

    /** The rows of one step, reused from step to step. */
    private static final class StepRows {
        final int[] tokens;
        final int[] positions;
        final Llama.KvCache[] caches;
        final int[] logitRows;
        final Sequence<Llama.KvCache>[] logitSequences;
        final int[] hiddenRows;
        final Sequence<Llama.KvCache>[] hiddenSequences;
        int count;
        int logitCount;
        int hiddenCount;

        @SuppressWarnings("unchecked")
        StepRows(int maxRows, int maxSequences) {
            tokens = new int[maxRows];
            positions = new int[maxRows];
            caches = new Llama.KvCache[maxRows];
            logitRows = new int[maxSequences];
            logitSequences = new Sequence[maxSequences];
            hiddenRows = new int[maxRows];
            hiddenSequences = new Sequence[maxRows];
        }

        int free() {
            return tokens.length - count;
        }

        void clear() {
            count = 0;
            logitCount = 0;
            Arrays.fill(caches, null);
            Arrays.fill(logitSequences, null);
            Arrays.fill(hiddenSequences, 0, hiddenCount, null);
            hiddenCount = 0;
        }

        /** The row added last leaves its final hidden state for {@code sequence} to pool. */
        void hidden(Sequence<Llama.KvCache> sequence) {
            hiddenRows[hiddenCount] = count - 1;
            hiddenSequences[hiddenCount++] = sequence;
        }

        void add(Sequence<Llama.KvCache> sequence, int token, int position, boolean wantsLogits) {
            tokens[count] = token;
            positions[count] = position;
            caches[count] = sequence.place();
            if (wantsLogits) {
                logitRows[logitCount] = count;
                logitSequences[logitCount++] = sequence;
            }
            count++;
        }
    }
}
