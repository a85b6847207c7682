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
 * O(layers × (weights + position × kvDim)) instead of recomputing the prefix. The
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
     * The keys and values of one sequence, for positions 0 to {@code capacity − 1}, off-heap;
     * used and closed by the thread that made it (which keeps its accesses cheap).
     */
    final class KvCache implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        final int capacity;
        final MemorySegment keys;   // (layer, position, kvDim)
        final MemorySegment values; // (layer, position, kvDim)

        KvCache(int capacity) {
            if (capacity < 1 || capacity > config.contextLength()) {
                throw new IllegalArgumentException("KV cache capacity was " + capacity + ", must be 1 to "
                        + config.contextLength());
            }
            this.capacity = capacity;
            long bytes = kvCacheBytes(capacity) / 2;
            keys = arena.allocate(bytes, 64);
            values = arena.allocate(bytes, 64);
        }

        long offset(int layer, int position) {
            return (((long) layer * capacity + position) * config.kvDim()) * Float.BYTES;
        }

        @Override
        public void close() {
            arena.close();
        }
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
                long at = caches[r].offset(l, positions[r]);
                MemorySegment.copy(ws.k[r], 0, caches[r].keys, CACHE_FLOAT, at, kvDim);
                MemorySegment.copy(ws.v[r], 0, caches[r].values, CACHE_FLOAT, at, kvDim);
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
            ws.att = new float[Math.min(cache.capacity, Math.max(count, 2 * ws.att.length))];
        }
        float[] att = ws.att;
        long stride = (long) c.kvDim() * Float.BYTES;
        long layerStart = cache.offset(layer, first);
        for (int h = 0; h < c.heads(); h++) {
            int qOffset = h * headSize;
            long kvOffset = layerStart + (long) (h / kvMul) * headSize * Float.BYTES;
            scores(q, qOffset, cache.keys, kvOffset, stride, att, 0, count, headSize, attentionScale);
            if (softCap > 0f) {
                softCap(att, 0, count, softCap);
            }
            softmax(att, 0, count);
            weightedValues(out, qOffset, cache.values, kvOffset, stride, att, 0, count, headSize);
        }
    }

    /**
     * att[attOffset + t] = q[qOffset, +n) · keys[at + t × stride, +n floats) / scale for t in
     * [0, count). Each score is summed like a matrix row in {@link FloatTensor.F32}: one
     * 8-float accumulator over the head's whole slices, its lanes added as a tree, then the
     * remaining elements in order; eight positions at a time share the query loads and one
     * tree of lane sums.
     */
    private static void scores(float[] q, int qOffset, MemorySegment keys, long at, long stride, float[] att,
                               int attOffset, int count, int n, float scale) {
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
            MemorySegment block = keys.asSlice(at + t * stride, 7 * stride + (long) n * Float.BYTES);
            for (int i = 0; i < whole; i += w) {
                FloatVector qi = FloatVector.fromArray(EIGHT, q, qOffset + i);
                long k = (long) i * Float.BYTES;
                a0 = cacheVector(block, k).fma(qi, a0);
                a1 = cacheVector(block, k + stride).fma(qi, a1);
                a2 = cacheVector(block, k + 2 * stride).fma(qi, a2);
                a3 = cacheVector(block, k + 3 * stride).fma(qi, a3);
                a4 = cacheVector(block, k + 4 * stride).fma(qi, a4);
                a5 = cacheVector(block, k + 5 * stride).fma(qi, a5);
                a6 = cacheVector(block, k + 6 * stride).fma(qi, a6);
                a7 = cacheVector(block, k + 7 * stride).fma(qi, a7);
            }
            FloatVector sums = FloatTensor.F32.rowSums8(a0, a1, a2, a3, a4, a5, a6, a7);
            if (whole == n) {
                sums.div(scale).intoArray(att, attOffset + t);
            } else {
                sums.intoArray(att, attOffset + t);
                for (int j = t; j < t + 8; j++) {
                    att[attOffset + j] = keyTail(att[attOffset + j], q, qOffset, keys, at + j * stride, whole, n)
                            / scale;
                }
            }
        }
        for (; t < count; t++) {
            long first = at + t * stride;
            FloatVector a = FloatVector.zero(EIGHT);
            for (int i = 0; i < whole; i += w) {
                a = cacheVector(keys, first + (long) i * Float.BYTES).fma(FloatVector.fromArray(EIGHT, q, qOffset + i), a);
            }
            float sum = FloatTensor.F32.rowSums8(a, a, a, a, a, a, a, a).lane(0);
            att[attOffset + t] = keyTail(sum, q, qOffset, keys, first, whole, n) / scale;
        }
    }

    /** Eight floats of the key or value cache at byte {@code at}. */
    private static FloatVector cacheVector(MemorySegment cache, long at) {
        return FloatVector.fromMemorySegment(EIGHT, cache, at, ByteOrder.nativeOrder());
    }

    /** sum + Σ q[qOffset + i] · keys[at + i floats] for i in [from, n), in order. */
    private static float keyTail(float sum, float[] q, int qOffset, MemorySegment keys, long at, int from, int n) {
        for (int i = from; i < n; i++) {
            sum += q[qOffset + i] * keys.getAtIndex(CACHE_FLOAT, (at >> 2) + i);
        }
        return sum;
    }

    /**
     * out[outOffset, +n) = Σ_t att[attOffset + t] × values[at + t × stride, +n floats) for t
     * in [0, count): each 8-float slice of the head in four accumulators (positions t mod 4),
     * added as (s0 + s1) + (s2 + s3); the elements past the last whole slice one by one.
     */
    private static void weightedValues(float[] out, int outOffset, MemorySegment values, long at, long stride,
                                       float[] att, int attOffset, int count, int n) {
        int w = EIGHT.length();
        MemorySegment head = values.asSlice(at, (count - 1) * stride + (long) n * Float.BYTES);
        int i = 0;
        for (; i + w <= n; i += w) {
            FloatVector s0 = FloatVector.zero(EIGHT);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            long first = (long) i * Float.BYTES;
            int t = 0;
            for (; t + 4 <= count; t += 4) {
                long v = first + t * stride;
                s0 = cacheVector(head, v).fma(FloatVector.broadcast(EIGHT, att[attOffset + t]), s0);
                s1 = cacheVector(head, v + stride).fma(FloatVector.broadcast(EIGHT, att[attOffset + t + 1]), s1);
                s2 = cacheVector(head, v + 2 * stride).fma(FloatVector.broadcast(EIGHT, att[attOffset + t + 2]), s2);
                s3 = cacheVector(head, v + 3 * stride).fma(FloatVector.broadcast(EIGHT, att[attOffset + t + 3]), s3);
            }
            for (; t < count; t++) {
                s0 = cacheVector(head, first + t * stride).fma(FloatVector.broadcast(EIGHT, att[attOffset + t]), s0);
            }
            s0.add(s1).add(s2.add(s3)).intoArray(out, outOffset + i);
        }
        for (; i < n; i++) {
            float sum = 0f;
            long first = (at >> 2) + i;
            long step = stride >> 2;
            for (int t = 0; t < count; t++) {
                sum += att[attOffset + t] * values.getAtIndex(CACHE_FLOAT, first + t * step);
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
     * Softmax in place over x[offset, offset + size), on vectors: the exponential is the
     * Vector API's (within an ulp or so of {@link Math#exp}); the scalar tail uses Math.exp.
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
        FloatVector sums = FloatVector.zero(FLOATS);
        for (i = 0; i + lanes <= size; i += lanes) {
            FloatVector e = FloatVector.fromArray(FLOATS, x, offset + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, offset + i);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (; i < size; i++) {
            x[offset + i] = (float) Math.exp(x[offset + i] - max);
            sum += x[offset + i];
        }
        for (i = 0; i + lanes <= size; i += lanes) {
            FloatVector.fromArray(FLOATS, x, offset + i).div(sum).intoArray(x, offset + i);
        }
        for (; i < size; i++) {
            x[offset + i] /= sum;
        }
    }
}
