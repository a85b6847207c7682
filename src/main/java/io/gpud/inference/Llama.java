package io.gpud.inference;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Llama forward pass, for a batch of tokens from any number of sequences at once.
 *
 * <p>Design. Generation is a loop of steps, each turning tokens into the logits of the next.
 * A step takes a batch of rows; row i is token {@code tokens[i]} at position
 * {@code positions[i]} of the sequence whose {@link KvCache} is {@code caches[i]}. Rows of
 * different sequences (continuous batching: every running sequence's next token) and many
 * rows of one sequence (a prompt, in position order) mix freely, because every row is
 * computed exactly as if it ran alone: the matrix products compute each output with the
 * same dot product whatever the batch ({@link FloatTensor}), and attention reads only the
 * row's own cache up to its own position. What the batch buys is that each weight matrix is
 * read from memory once per step instead of once per row.
 *
 * <p>Everything a sequence remembers lives in its KV cache, off the Java heap, holding the
 * keys and values of every earlier position so each step costs
 * O(layers × (weights + position × kvDim)) instead of recomputing the prefix. The cache is
 * blocks of an engine's {@link KvBlocks}: position p is in the block its
 * {@link PrefixCache.Table} names for it, so sequences with a common prefix can share its
 * blocks. Attention looks each position up in the table and sums in the order of a
 * contiguous cache (the order depends on the position's index, never on its block), so the
 * blocks change no result. The
 * activations of a step live in a {@link Workspace}, reused by every step of one thread.
 * The weights are shared, read-only and memory-mapped.
 *
 * <p>One step, per layer: RMSNorm the residual stream; project it to queries, keys and
 * values; rotate queries and keys by the position (RoPE: adjacent pairs (x[2i], x[2i+1])
 * as in llama2.c and GGUF llama, halves (x[i], x[i + n/2]) as in Hugging Face checkpoints
 * and the other GGUF families; see {@link LlamaConfig.RopeLayout}); store key and value in
 * the cache; attend — each query head h reads key/value head h / (heads / kvHeads)
 * (grouped-query attention), softmax over the scaled scores of positions 0..pos; project
 * back and add to the residual; RMSNorm again; gated feed-forward (act(w1·x) ⊙ (w3·x), then
 * w2) and add to the residual. Finally RMSNorm and the classifier give the logits, for the
 * rows that ask for them (the last prompt row of a sequence does, the others do not); an
 * embedding's rows ask for the normalised state itself, which it averages.
 *
 * <p>The families of {@link Architecture} differ from that at a few named places, each
 * marked in {@link #forward}: Gemma scales the embeddings by √dim, normalises the outputs of
 * attention and feed-forward too (sandwich norms), gates with GELU and soft-caps; Qwen2 adds
 * biases to queries, keys and values; Qwen3 and Gemma 3 normalise each query and key head
 * before RoPE; Gemma's sliding-window layers see only the last positions, with their own
 * RoPE base; Llama 3.1 divides RoPE frequencies by per-pair factors. Phi-3's fused matrices
 * are cut into views at load, so nothing here knows of them.
 *
 * <p>The arithmetic of a Llama follows llama2.c's {@code run.c} operation by operation in
 * float32, so greedy decoding reproduces its token ids.
 */
final class Llama {
    private static final VectorSpecies<Float> FLOATS = FloatTensor.FLOATS;
    /** The attention's vectors: eight floats, the width of the matrix kernels. */
    private static final VectorSpecies<Float> EIGHT = FloatTensor.F32.DOT;
    private static final ValueLayout.OfFloat CACHE_FLOAT = ValueLayout.JAVA_FLOAT;
    /**
     * Native memory as a whole, for attention's reads of the KV blocks at the absolute
     * addresses {@link KvCache#locate} computes: a sequence's positions lie in several
     * blocks, and one segment per position would cost a bounds and liveness check per load
     * in the innermost loops (a seventh of decoding at 600 positions). Only addresses of
     * allocated blocks below the sequence's position are read; writes go through the checked
     * slabs.
     */
    private static final MemorySegment NATIVE = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final LlamaConfig config;
    private final LlamaWeights weights;

    Llama(LlamaConfig config, LlamaWeights weights) {
        String missing = weights.missingFor(config);
        if (!missing.isEmpty()) {
            throw new InferenceException(config.architecture().ggufName() + " needs " + missing);
        }
        this.config = config;
        this.weights = weights;
    }

    LlamaConfig config() {
        return config;
    }

    LlamaWeights weights() {
        return weights;
    }

    /** Bytes of a KV cache for {@code positions} positions. */
    long kvCacheBytes(int positions) {
        return 2L * config.layers() * positions * config.kvDim() * Float.BYTES;
    }

    /**
     * The KV memory of an engine: {@code blocks} blocks of {@code blockTokens} positions,
     * each holding the keys of every layer, then the values, {@code (layer, slot, kvDim)}
     * each, position p of a sequence in slot p mod blockTokens of the block its
     * {@link PrefixCache.Table} names. Off-heap, allocated in slabs of whole blocks as they
     * are first written (an engine's budget is not touched up front), freed at close; used
     * and closed by the thread that made it (which keeps its accesses cheap).
     */
    final class KvBlocks implements AutoCloseable {
        /** Bytes a slab aims at: enough blocks to amortise an allocation, few enough to grow gently. */
        private static final long SLAB_BYTES = 16L << 20;

        private final Arena arena = Arena.ofConfined();
        final int blockTokens;
        private final int blocks;
        private final long slotBytes;   // one position of one layer: kvDim floats
        private final long layerBytes;  // blockTokens slots
        private final long valuesAt;    // where a block's values start: after the keys of every layer
        private final long blockBytes;
        private final int blocksPerSlab;
        private final MemorySegment[] slabs;

        KvBlocks(int blocks, int blockTokens) {
            if (blocks < 1 || blockTokens < 1) {
                throw new IllegalArgumentException("KV memory of " + blocks + " blocks of " + blockTokens
                        + " positions, must be at least 1 of 1");
            }
            this.blocks = blocks;
            this.blockTokens = blockTokens;
            slotBytes = (long) config.kvDim() * Float.BYTES;
            layerBytes = slotBytes * blockTokens;
            valuesAt = layerBytes * config.layers();
            blockBytes = 2 * valuesAt;
            blocksPerSlab = (int) Math.max(1, Math.min(blocks, SLAB_BYTES / blockBytes));
            slabs = new MemorySegment[(blocks + blocksPerSlab - 1) / blocksPerSlab];
        }

        /** The slab that holds block {@code b}, allocated (zeroed) when first asked for. */
        MemorySegment slab(int b) {
            int s = b / blocksPerSlab;
            MemorySegment slab = slabs[s];
            if (slab == null) {
                int count = Math.min(blocksPerSlab, blocks - s * blocksPerSlab);
                slab = arena.allocate(count * blockBytes, 64);
                slabs[s] = slab;
            }
            return slab;
        }

        /** Where the key of {@code slot} of {@code layer} of block {@code b} starts in its slab; its value is {@link #valuesAt} further. */
        long keyAt(int b, int layer, int slot) {
            return (b % blocksPerSlab) * blockBytes + layer * layerBytes + slot * slotBytes;
        }

        /** Zeroes block {@code b} (a block never written is zero already). */
        void zero(int b) {
            MemorySegment slab = slabs[b / blocksPerSlab];
            if (slab != null) {
                slab.asSlice((b % blocksPerSlab) * blockBytes, blockBytes).fill((byte) 0);
            }
        }

        /** Whether every byte of block {@code b} is zero. */
        boolean isZero(int b) {
            MemorySegment slab = slabs[b / blocksPerSlab];
            if (slab == null) {
                return true;
            }
            MemorySegment block = slab.asSlice((b % blocksPerSlab) * blockBytes, blockBytes);
            for (long i = 0; i < blockBytes; i += Long.BYTES) {
                if (block.get(ValueLayout.JAVA_LONG_UNALIGNED, i) != 0) {
                    return false;
                }
            }
            return true;
        }

        /** Bytes allocated so far. */
        long bytesAllocated() {
            long bytes = 0;
            for (MemorySegment slab : slabs) {
                bytes += slab == null ? 0 : slab.byteSize();
            }
            return bytes;
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /**
     * The keys and values of one sequence, positions 0 to {@code capacity − 1}: its blocks of
     * an engine's {@link KvBlocks}, as its {@link PrefixCache.Table} names them, or of memory
     * of its own.
     */
    final class KvCache implements AutoCloseable {
        /** Positions per block of a cache with memory of its own. */
        static final int OWN_BLOCK_TOKENS = 16;

        final int capacity;
        final KvBlocks memory;
        final PrefixCache.Table table;
        private final boolean ownsMemory;

        /** A cache of {@code capacity} positions in {@code table}'s blocks of {@code memory}. */
        KvCache(KvBlocks memory, PrefixCache.Table table, int capacity) {
            this(memory, table, capacity, false);
        }

        /** A cache of {@code capacity} positions with memory of its own, used and closed by the thread that made it. */
        KvCache(int capacity) {
            this(capacity, OWN_BLOCK_TOKENS);
        }

        /** A cache of {@code capacity} positions in blocks of {@code blockTokens} of its own. */
        KvCache(int capacity, int blockTokens) {
            this(ownMemory(capacity, blockTokens), capacity, blockTokens);
        }

        private KvCache(KvBlocks memory, int capacity, int blockTokens) {
            this(memory, new PrefixCache(memory.blocks, blockTokens, 0, false, b -> { })
                    .claim(new int[0], null, capacity, PrefixCache.Use.UNSHARED), capacity, true);
        }

        private KvCache(KvBlocks memory, PrefixCache.Table table, int capacity, boolean ownsMemory) {
            if (capacity < 1 || capacity > config.contextLength() || capacity > table.positions()) {
                throw new IllegalArgumentException("KV cache capacity was " + capacity + ", must be 1 to "
                        + Math.min(config.contextLength(), table.positions()));
            }
            this.memory = memory;
            this.table = table;
            this.capacity = capacity;
            this.ownsMemory = ownsMemory;
        }

        /** Stores the key and value of {@code position} of {@code layer}. */
        void store(int layer, int position, float[] key, float[] value) {
            int b = table.block(position);
            MemorySegment slab = memory.slab(b);
            long at = memory.keyAt(b, layer, position % memory.blockTokens);
            MemorySegment.copy(key, 0, slab, CACHE_FLOAT, at, config.kvDim());
            MemorySegment.copy(value, 0, slab, CACHE_FLOAT, at + memory.valuesAt, config.kvDim());
        }

        /**
         * The native addresses of the keys of positions {@code [first, first + count)} of
         * {@code layer}: position {@code first + t} at {@code at[t]} (its value
         * {@link KvBlocks#valuesAt} further). Every position must have been stored.
         */
        void locate(int layer, int first, int count, long[] at) {
            if (first + count > capacity) {
                throw new IllegalArgumentException("positions " + first + " to " + (first + count - 1)
                        + " are outside the KV cache of " + capacity);
            }
            if (!memory.arena.scope().isAlive()) { // the reads by address would not notice
                throw new IllegalStateException("the KV memory was freed");
            }
            int tokens = memory.blockTokens;
            for (int t = 0; t < count; ) {
                int p = first + t;
                int b = table.block(p);
                long key = memory.slab(b).address() + memory.keyAt(b, layer, 0);
                for (int slot = p % tokens; slot < tokens && t < count; slot++, t++) {
                    at[t] = key + slot * memory.slotBytes;
                }
            }
        }

        @Override
        public void close() {
            if (ownsMemory) {
                memory.close();
            }
        }
    }

    private KvBlocks ownMemory(int capacity, int blockTokens) {
        if (capacity < 1 || capacity > config.contextLength()) {
            throw new IllegalArgumentException("KV cache capacity was " + capacity + ", must be 1 to "
                    + config.contextLength());
        }
        return new KvBlocks((capacity + blockTokens - 1) / blockTokens, blockTokens);
    }

    /** The activations of up to {@code rows} rows, of which up to {@code logitRows} get logits. */
    final class Workspace {
        final Parallel threads;
        final float[][] x;      // (row, dim) residual stream
        final float[][] xb;     // (row, dim) normalised input of a branch, then the feed-forward output
        final float[][] xb2;    // (row, dim) branch output before the residual add
        final float[][] hb;     // (row, hiddenDim) feed-forward gate
        final float[][] hb2;    // (row, hiddenDim) feed-forward up
        final float[][] q;      // (row, qDim) queries
        final float[][] attended; // (row, qDim) attention output, before the output projection
        final float[][] k;      // (row, kvDim) keys
        final float[][] v;      // (row, kvDim) values
        /** (positions) the attention weights of one head of one row; grows to the longest cache attended. */
        private float[] att = new float[0];
        /** (positions) the addresses of the keys of the positions attended; grows with {@link #att}. */
        private long[] kvAt = new long[0];
        final float[][] ropeCos; // (row, rotary dims / 2) cos of the rotation angles at the row's position
        final float[][] ropeSin; // (row, rotary dims / 2) their sin
        final float[][] slidingCos; // (row, rotary dims / 2) the same for sliding-window layers (their own base)
        final float[][] slidingSin;
        final float[][] logits; // (logit row, vocab)
        private final float[][] logitInputs;

        Workspace(int rows, int logitRows, Parallel threads) {
            LlamaConfig c = config;
            this.threads = threads;
            x = new float[rows][c.dim()];
            xb = new float[rows][c.dim()];
            xb2 = new float[rows][c.dim()];
            hb = new float[rows][c.hiddenDim()];
            hb2 = new float[rows][c.hiddenDim()];
            q = new float[rows][c.qDim()];
            attended = new float[rows][c.qDim()];
            k = new float[rows][c.kvDim()];
            v = new float[rows][c.kvDim()];
            int pairs = c.rotary().dims() / 2;
            ropeCos = new float[rows][pairs];
            ropeSin = new float[rows][pairs];
            boolean ownSliding = c.attention().slidingWindow() > 0;
            slidingCos = ownSliding ? new float[rows][pairs] : ropeCos;
            slidingSin = ownSliding ? new float[rows][pairs] : ropeSin;
            logits = new float[logitRows][c.vocabSize()];
            logitInputs = new float[logitRows][];
        }

        int rows() {
            return x.length;
        }
    }

    /** One sequence run token by token on the calling thread: a workspace of one row and its own cache. */
    final class State implements AutoCloseable {
        final Workspace workspace = new Workspace(1, 1, Parallel.single());
        final KvCache cache;
        private final int[] token = new int[1];
        private final int[] position = new int[1];
        private final KvCache[] caches = new KvCache[1];
        private final int[] logitRow = {0};

        private State(int positions) {
            cache = new KvCache(positions);
            caches[0] = cache;
        }

        @Override
        public void close() {
            cache.close();
        }
    }

    /** A sequence of up to {@code positions} positions (at most the context length). */
    State newState(int positions) {
        return new State(positions);
    }

    /** Runs {@code token} at position {@code pos}; returns the logits (owned by {@code s}). */
    float[] forward(State s, int token, int pos) {
        s.token[0] = token;
        s.position[0] = pos;
        forward(s.workspace, 1, s.token, s.position, s.caches, s.logitRow, 1);
        return s.workspace.logits[0];
    }

    /** {@link #forward(Workspace, int, int[], int[], KvCache[], int[], int, int[], int)} with no row for an embedding. */
    void forward(Workspace ws, int n, int[] tokens, int[] positions, KvCache[] caches, int[] logitRows,
                 int logitCount) {
        forward(ws, n, tokens, positions, caches, logitRows, logitCount, logitRows, 0);
    }

    /**
     * Runs rows [0, n): row i is {@code tokens[i]} at {@code positions[i]} of the sequence
     * cached in {@code caches[i]}; rows of one sequence come in position order. Row
     * {@code logitRows[j]} gets its logits in {@code ws.logits[j]}, for j in [0, logitCount);
     * row {@code hiddenRows[j]}, for j in [0, hiddenCount), leaves its final hidden state
     * (after the output norm: what an embedding pools) in {@code ws.x[hiddenRows[j]]}. A
     * row is one or the other, or neither.
     */
    void forward(Workspace ws, int n, int[] tokens, int[] positions, KvCache[] caches, int[] logitRows,
                 int logitCount, int[] hiddenRows, int hiddenCount) {
        LlamaConfig c = config;
        LlamaWeights w = weights;
        Architecture a = c.architecture();
        int dim = c.dim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int hiddenDim = c.hiddenDim();
        LlamaConfig.Rotary rotary = c.rotary();
        Parallel threads = ws.threads;
        for (int r = 0; r < n; r++) {
            if (positions[r] >= caches[r].capacity) {
                throw new IllegalArgumentException("position " + positions[r] + " is outside the KV cache of "
                        + caches[r].capacity);
            }
            w.tokenEmbedding().copyRow(tokens[r], dim, ws.x[r]);
            if (a.scaledEmbedding()) { // Gemma: embeddings × √dim
                scale(ws.x[r], dim, (float) Math.sqrt(dim));
            }
            rotation(ws.ropeCos[r], ws.ropeSin[r], rotary.dims(), positions[r], c.ropeTheta(), rotary.scale(),
                    rotary.factors());
            if (ws.slidingCos != ws.ropeCos) { // sliding-window layers: their own base, unscaled
                rotation(ws.slidingCos[r], ws.slidingSin[r], rotary.dims(), positions[r], rotary.slidingTheta(), 1f,
                        null);
            }
        }

        for (int l = 0; l < c.layers(); l++) {
            // attention: x += wo · attend(rope(wq · rms(x)), cache)
            for (int r = 0; r < n; r++) {
                rmsnorm(ws.xb[r], ws.x[r], w.rmsAttention()[l], dim, c.rmsEps());
            }
            w.wq()[l].matmul(ws.xb, ws.q, n, qDim, dim, threads);
            w.wk()[l].matmul(ws.xb, ws.k, n, kvDim, dim, threads);
            w.wv()[l].matmul(ws.xb, ws.v, n, kvDim, dim, threads);
            boolean sliding = c.sliding(l);
            float[][] cos = sliding ? ws.slidingCos : ws.ropeCos;
            float[][] sin = sliding ? ws.slidingSin : ws.ropeSin;
            for (int r = 0; r < n; r++) {
                if (w.qBias() != null) { // Qwen2: biased projections
                    add(ws.q[r], w.qBias()[l], qDim);
                    add(ws.k[r], w.kBias()[l], kvDim);
                    add(ws.v[r], w.vBias()[l], kvDim);
                }
                if (a.qkNorm()) { // Qwen3, Gemma 3: RMSNorm of every query and key head
                    headNorms(ws.q[r], qDim, w.qNorm()[l]);
                    headNorms(ws.k[r], kvDim, w.kNorm()[l]);
                }
                rope(ws.q[r], qDim, c.headSize(), rotary.dims(), cos[r], sin[r], c.rope());
                rope(ws.k[r], kvDim, c.headSize(), rotary.dims(), cos[r], sin[r], c.rope());
                caches[r].store(l, positions[r], ws.k[r], ws.v[r]);
            }
            for (int r = 0; r < n; r++) {
                attend(ws, ws.q[r], ws.attended[r], caches[r], l, positions[r]);
            }
            w.wo()[l].matmul(ws.attended, ws.xb2, n, dim, qDim, threads);
            for (int r = 0; r < n; r++) {
                if (a.sandwichNorms()) { // Gemma: the branch output is normalised too
                    rmsnorm(ws.xb2[r], ws.xb2[r], w.rmsPostAttention()[l], dim, c.rmsEps());
                }
                add(ws.x[r], ws.xb2[r], dim);
            }

            // feed-forward: x += w2 · (act(w1 · rms(x)) ⊙ (w3 · rms(x))), act = SiLU (GELU for Gemma)
            for (int r = 0; r < n; r++) {
                rmsnorm(ws.xb[r], ws.x[r], w.rmsFfn()[l], dim, c.rmsEps());
            }
            w.w1()[l].matmul(ws.xb, ws.hb, n, hiddenDim, dim, threads);
            w.w3()[l].matmul(ws.xb, ws.hb2, n, hiddenDim, dim, threads);
            for (int r = 0; r < n; r++) {
                float[] hb = ws.hb[r];
                float[] hb2 = ws.hb2[r];
                if (a.gelu()) {
                    for (int i = 0; i < hiddenDim; i++) {
                        hb[i] = gelu(hb[i]) * hb2[i];
                    }
                } else {
                    for (int i = 0; i < hiddenDim; i++) {
                        float gate = hb[i];
                        gate *= 1.0f / (1.0f + (float) Math.exp(-gate));
                        hb[i] = gate * hb2[i];
                    }
                }
            }
            w.w2()[l].matmul(ws.hb, ws.xb, n, dim, hiddenDim, threads);
            for (int r = 0; r < n; r++) {
                if (a.sandwichNorms()) {
                    rmsnorm(ws.xb[r], ws.xb[r], w.rmsPostFfn()[l], dim, c.rmsEps());
                }
                add(ws.x[r], ws.xb[r], dim);
            }
        }

        for (int j = 0; j < hiddenCount; j++) {
            float[] x = ws.x[hiddenRows[j]];
            rmsnorm(x, x, w.rmsFinal(), dim, c.rmsEps());
        }
        if (logitCount == 0) {
            return; // a prompt chunk that does not end its prompt needs no logits
        }
        for (int j = 0; j < logitCount; j++) {
            float[] x = ws.x[logitRows[j]];
            rmsnorm(x, x, w.rmsFinal(), dim, c.rmsEps());
            ws.logitInputs[j] = x;
        }
        w.classifier().matmul(ws.logitInputs, ws.logits, logitCount, c.vocabSize(), dim, threads);
        if (c.logitSoftCap() > 0f) { // Gemma 2
            for (int j = 0; j < logitCount; j++) {
                softCap(ws.logits[j], 0, c.vocabSize(), c.logitSoftCap());
            }
        }
    }

    /** RMSNorm in place of each head of {@code v[0, size)}, every head with the same {@code weight} (headSize). */
    private void headNorms(float[] v, int size, float[] weight) {
        int headSize = config.headSize();
        for (int head = 0; head < size; head += headSize) {
            rmsnorm(v, head, v, head, weight, headSize, config.rmsEps());
        }
    }

    /**
     * out (qDim) = Σ_t softmax(q · key_t / √queryScalar) value_t per head, over positions
     * 0..pos, or the last {@code window} of them in a sliding-window layer; Gemma 2 soft-caps
     * the scores before the softmax.
     */
    private void attend(Workspace ws, float[] q, float[] out, KvCache cache, int layer, int pos) {
        LlamaConfig c = config;
        int headSize = c.headSize();
        int kvMul = c.heads() / c.kvHeads();
        float attentionScale = (float) Math.sqrt(c.attention().queryScalar());
        float softCap = c.attention().softCap();
        int first = c.sliding(layer) ? Math.max(0, pos + 1 - c.attention().slidingWindow()) : 0;
        int count = pos + 1 - first;
        if (ws.att.length < count) { // at most the cache's capacity, which the KV cache budget admitted
            int size = Math.min(cache.capacity, Math.max(count, 2 * ws.att.length));
            ws.att = new float[size];
            ws.kvAt = new long[size];
        }
        float[] att = ws.att;
        long[] at = ws.kvAt;
        cache.locate(layer, first, count, at);
        long values = cache.memory.valuesAt;
        for (int h = 0; h < c.heads(); h++) {
            int qOffset = h * headSize;
            long head = (long) (h / kvMul) * headSize * Float.BYTES;
            scores(q, qOffset, at, head, att, count, headSize, attentionScale);
            if (softCap > 0f) {
                softCap(att, 0, count, softCap);
            }
            softmax(att, 0, count);
            weightedValues(out, qOffset, at, head + values, att, count, headSize);
        }
    }

    /**
     * att[t] = q[qOffset, +n) · key_t / scale for t in [0, count), key_t the n floats at
     * native address {@code at[t] + head}. Each score is summed like a matrix row in
     * {@link FloatTensor.F32}: one 8-float accumulator over the head's whole slices, its
     * lanes added as a tree, then the remaining elements in order; eight positions at a time
     * share the query loads and one tree of lane sums. A position's score does not depend on
     * the others, so where the positions lie (which blocks) does not change it.
     */
    private static void scores(float[] q, int qOffset, long[] at, long head, float[] att, int count, int n,
                               float scale) {
        int w = EIGHT.length();
        int whole = n / w * w;
        int t = 0;
        for (; t + 8 <= count; t += 8) {
            FloatVector a0 = FloatVector.zero(EIGHT);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector a4 = a0;
            FloatVector a5 = a0;
            FloatVector a6 = a0;
            FloatVector a7 = a0;
            long k0 = at[t] + head;
            long k1 = at[t + 1] + head;
            long k2 = at[t + 2] + head;
            long k3 = at[t + 3] + head;
            long k4 = at[t + 4] + head;
            long k5 = at[t + 5] + head;
            long k6 = at[t + 6] + head;
            long k7 = at[t + 7] + head;
            for (int i = 0; i < whole; i += w) {
                FloatVector qi = FloatVector.fromArray(EIGHT, q, qOffset + i);
                long k = (long) i * Float.BYTES;
                a0 = cacheVector(k0 + k).fma(qi, a0);
                a1 = cacheVector(k1 + k).fma(qi, a1);
                a2 = cacheVector(k2 + k).fma(qi, a2);
                a3 = cacheVector(k3 + k).fma(qi, a3);
                a4 = cacheVector(k4 + k).fma(qi, a4);
                a5 = cacheVector(k5 + k).fma(qi, a5);
                a6 = cacheVector(k6 + k).fma(qi, a6);
                a7 = cacheVector(k7 + k).fma(qi, a7);
            }
            FloatVector sums = FloatTensor.F32.rowSums8(a0, a1, a2, a3, a4, a5, a6, a7);
            if (whole == n) {
                sums.div(scale).intoArray(att, t);
            } else {
                sums.intoArray(att, t);
                for (int j = t; j < t + 8; j++) {
                    att[j] = keyTail(att[j], q, qOffset, at[j] + head, whole, n) / scale;
                }
            }
        }
        for (; t < count; t++) {
            long first = at[t] + head;
            FloatVector a = FloatVector.zero(EIGHT);
            for (int i = 0; i < whole; i += w) {
                a = cacheVector(first + (long) i * Float.BYTES).fma(FloatVector.fromArray(EIGHT, q, qOffset + i), a);
            }
            float sum = FloatTensor.F32.rowSums8(a, a, a, a, a, a, a, a).lane(0);
            att[t] = keyTail(sum, q, qOffset, first, whole, n) / scale;
        }
    }

    /** Eight floats of the key or value cache at native address {@code at}. */
    private static FloatVector cacheVector(long at) {
        return FloatVector.fromMemorySegment(EIGHT, NATIVE, at, ByteOrder.nativeOrder());
    }

    /** sum + Σ q[qOffset + i] · key[i] for i in [from, n), in order, the key at native address {@code at}. */
    private static float keyTail(float sum, float[] q, int qOffset, long at, int from, int n) {
        for (int i = from; i < n; i++) {
            sum += q[qOffset + i] * NATIVE.get(CACHE_FLOAT, at + (long) i * Float.BYTES);
        }
        return sum;
    }

    /**
     * out[outOffset, +n) = Σ_t att[t] × value_t for t in [0, count), value_t the n floats at
     * native address {@code at[t] + head}: each 8-float slice of the head in four
     * accumulators (positions t mod 4 of the whole fours, the rest in the first), added as
     * (s0 + s1) + (s2 + s3); the elements past the last whole slice one by one. The order
     * depends on t alone, not on the blocks the positions lie in.
     */
    private static void weightedValues(float[] out, int outOffset, long[] at, long head, float[] att, int count,
                                       int n) {
        int w = EIGHT.length();
        int i = 0;
        for (; i + w <= n; i += w) {
            FloatVector s0 = FloatVector.zero(EIGHT);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            long slice = head + (long) i * Float.BYTES;
            int t = 0;
            for (; t + 4 <= count; t += 4) {
                s0 = cacheVector(at[t] + slice).fma(FloatVector.broadcast(EIGHT, att[t]), s0);
                s1 = cacheVector(at[t + 1] + slice).fma(FloatVector.broadcast(EIGHT, att[t + 1]), s1);
                s2 = cacheVector(at[t + 2] + slice).fma(FloatVector.broadcast(EIGHT, att[t + 2]), s2);
                s3 = cacheVector(at[t + 3] + slice).fma(FloatVector.broadcast(EIGHT, att[t + 3]), s3);
            }
            for (; t < count; t++) {
                s0 = cacheVector(at[t] + slice).fma(FloatVector.broadcast(EIGHT, att[t]), s0);
            }
            s0.add(s1).add(s2.add(s3)).intoArray(out, outOffset + i);
        }
        for (; i < n; i++) {
            float sum = 0f;
            long element = head + (long) i * Float.BYTES;
            for (int t = 0; t < count; t++) {
                sum += att[t] * NATIVE.get(CACHE_FLOAT, at[t] + element);
            }
            out[outOffset + i] = sum;
        }
    }

    private static void add(float[] x, float[] delta, int size) {
        for (int i = 0; i < size; i++) {
            x[i] += delta[i];
        }
    }

    private static void scale(float[] x, int size, float factor) {
        for (int i = 0; i < size; i++) {
            x[i] *= factor;
        }
    }

    /** x = cap × tanh(x / cap) over x[offset, offset + size). */
    private static void softCap(float[] x, int offset, int size, float cap) {
        for (int i = offset; i < offset + size; i++) {
            x[i] = cap * (float) Math.tanh(x[i] / cap);
        }
    }

    /** GELU, tanh approximation: x/2 × (1 + tanh(√(2/π) × (x + 0.044715 x³))). */
    static float gelu(float x) {
        return 0.5f * x * (1f + (float) Math.tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
    }

    /** out = weight ⊙ x / sqrt(mean(x²) + eps); {@code out} may be {@code x}. */
    static void rmsnorm(float[] out, float[] x, float[] weight, int size, float eps) {
        rmsnorm(out, 0, x, 0, weight, size, eps);
    }

    /** out[o, +size) = weight ⊙ x[xo, +size) / sqrt(mean(x²) + eps); the ranges may be the same. */
    static void rmsnorm(float[] out, int o, float[] x, int xo, float[] weight, int size, float eps) {
        float ss = 0f;
        for (int i = 0; i < size; i++) {
            ss += x[xo + i] * x[xo + i];
        }
        ss /= size;
        ss += eps;
        ss = 1f / (float) Math.sqrt(ss);
        for (int i = 0; i < size; i++) {
            out[o + i] = weight[i] * (ss * x[xo + i]);
        }
    }

    /**
     * cos and sin of pos × scale × theta^(−2j / dims) / factors[j] for pair j in [0, dims/2):
     * the same for every head, query and key and layer of a row (of one kind, global or
     * sliding), so computed once per row and step. {@code factors} may be null (all 1).
     */
    static void rotation(float[] cos, float[] sin, int dims, int pos, float theta, float scale, float[] factors) {
        for (int j = 0; j < dims / 2; j++) {
            float frequency = 1.0f / (float) Math.pow(theta, 2 * j / (float) dims);
            frequency = frequency * scale / (factors == null ? 1f : factors[j]);
            float angle = pos * frequency;
            cos[j] = (float) Math.cos(angle);
            sin[j] = (float) Math.sin(angle);
        }
    }

    /**
     * Rotates pair j of the first {@code dims} elements of every head (elements 2j, 2j+1, or
     * j, j + dims/2 in the HALVES layout) by the angle whose cos and sin are {@code cos[j]}
     * and {@code sin[j]}; the head's other elements stay as they are.
     */
    static void rope(float[] v, int size, int headSize, int dims, float[] cos, float[] sin,
                     LlamaConfig.RopeLayout layout) {
        int half = dims / 2;
        boolean adjacent = layout == LlamaConfig.RopeLayout.ADJACENT_PAIRS;
        for (int head = 0; head < size; head += headSize) {
            for (int j = 0; j < half; j++) {
                int a = adjacent ? head + 2 * j : head + j;
                int b = adjacent ? a + 1 : a + half;
                float v0 = v[a];
                float v1 = v[b];
                v[a] = v0 * cos[j] - v1 * sin[j];
                v[b] = v0 * sin[j] + v1 * cos[j];
            }
        }
    }

    /**
     * Softmax in place over x[offset, offset + size): the maximum and the division on
     * vectors, the exponentials with {@link Math#exp} and their sum in order. Not the Vector
     * API's exponential nor its lane sum: those round differently before and after the JIT
     * compiles them (the compiled exponential is within an ulp or so), so the same
     * computation would give different logits early in a process and later, and greedy
     * output would not be reproducible bit for bit.
     */
    static void softmax(float[] x, int offset, int size) {
        int lanes = FLOATS.length();
        int i = 0;
        float max = x[offset];
        if (size >= lanes) {
            FloatVector m = FloatVector.fromArray(FLOATS, x, offset);
            for (i = lanes; i + lanes <= size; i += lanes) {
                m = m.max(FloatVector.fromArray(FLOATS, x, offset + i));
            }
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < size; i++) {
            max = Math.max(max, x[offset + i]);
        }
        float sum = 0f;
        for (i = 0; i < size; i++) {
            float e = (float) Math.exp(x[offset + i] - max);
            x[offset + i] = e;
            sum += e;
        }
        for (i = 0; i + lanes <= size; i += lanes) {
            FloatVector.fromArray(FLOATS, x, offset + i).div(sum).intoArray(x, offset + i);
        }
        for (; i < size; i++) {
            x[offset + i] /= sum;
        }
    }
}
