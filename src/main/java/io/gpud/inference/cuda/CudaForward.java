package io.gpud.inference.cuda;

import static jcuda.driver.JCudaDriver.cuCtxCreate;
import static jcuda.driver.JCudaDriver.cuCtxDestroy;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import io.gpud.inference.LlamaModel;
import io.gpud.model.GgmlType;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.CudaException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstream_flags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Llama forward pass on one CUDA device, with everything it keeps there.
 *
 * <p>Design. The device holds the weights (uploaded once, per tensor, through
 * {@link WeightUploader}), a KV cache pool of {@code slots + 1} fixed slots of
 * {@code capacity} positions each (slot {@code slots} is scratch for padding rows), one
 * allocation of activations for {@code maxRows} rows, the logits of up to 32 rows, and the
 * step's inputs: token, position and cache slot per row. Every kernel that depends on the
 * step reads these inputs from device memory, never from its launch parameters, so the
 * launches of one decode step are the same from step to step and are captured once per
 * batch size (1, 8 and 32 rows) as a CUDA graph. A decode step is then one host-to-device
 * copy of the inputs, one graph launch and one copy of the logits back: launch overhead
 * stops mattering, which at batch 1 is what keeps the step at the speed of reading the
 * weights. A step of n rows runs the smallest graph that holds them; the rows beyond n are
 * padding that writes only the scratch slot.
 *
 * <p>Per layer, one step is: RMSNorm; the q, k and v products; RoPE on q and k fused with
 * storing k and v into the cache; attention of each row over its own slot up to its own
 * position (online softmax, one pass over the keys and values); the output product added
 * into the residual stream in the same kernel; RMSNorm; the gate and up products fused with
 * SwiGLU (neither product is written to memory); the down product added into the residual.
 * The matrix kernels read each weight row once for up to 8 rows of the batch, so a batch of
 * 32 reads the weights from DRAM once and from cache three more times.
 *
 * <p>A prompt runs in chunks of up to {@code maxRows} rows of one sequence without a graph
 * (its shape varies); only its last row gets logits. Rows of a chunk store their keys
 * before any row attends, so each row sees the rows before it, as in a step per token.
 *
 * <p>Hygiene. When a sequence leaves, its slot and the activations are zeroed, a kernel
 * counts the 16-byte words that are still non-zero over all of it, and a sample of the
 * slot is read back to the host and checked; {@link #scrub} reports what it found and the
 * engine quarantines itself on a failure. {@link #scrubAll} does the same for every slot,
 * before the memory is freed on model swap or shutdown.
 *
 * <p>Threading: the CUDA context is created by, current on, and only used from the thread
 * that constructs this object; every method must be called from it.
 */
final class CudaForward implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CudaForward.class);
    static final long STAGING_BYTES = 16L << 20;
    /** Bytes of a slot read back to the host after zeroing, from its start and its end each. */
    static final int SAMPLE_BYTES = 4096;
    private static final int HYGIENE_BLOCKS = 1024;

    private final LlamaModel.Dimensions d;
    final int slots;
    final int capacity;
    final int maxRows;
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final CUstream stream = new CUstream();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final List<CUdeviceptr> allocations = new ArrayList<>();
    private final boolean kernelsFromPtx;

    private DeviceTensor embedding;
    private DeviceTensor classifier;
    private DeviceTensor[][] matrices; // (layer) × {wq, wk, wv, wo, w1, w2, w3}
    private CUdeviceptr[] rmsAttention; // (layer) → (dim)
    private CUdeviceptr[] rmsFfn;       // (layer) → (dim)
    private CUdeviceptr rmsFinal;       // (dim)
    private long weightBytes;

    private CUdeviceptr keys;        // (slot, layer, position, kvDim)
    private CUdeviceptr values;      // (slot, layer, position, kvDim)
    private long slotBytes;          // bytes of one slot in keys (and in values)
    private CUdeviceptr activations; // x, xb, q, k, v, h, logits, one allocation
    private long activationBytes;
    private CUdeviceptr x;       // (row, dim) residual stream
    private CUdeviceptr xb;      // (row, dim) normalised input, then attention output
    private CUdeviceptr q;       // (row, dim)
    private CUdeviceptr k;       // (row, kvDim)
    private CUdeviceptr v;       // (row, kvDim)
    private CUdeviceptr h;       // (row, hiddenDim) SwiGLU output
    private CUdeviceptr logits;  // (32, vocab)
    private CUdeviceptr inputs;  // int (3, maxRows): tokens, positions, slots
    private CUdeviceptr counter; // unsigned long long: non-zero words found by the hygiene check
    private Pointer hostInputs;  // pinned int (3, maxRows)
    private IntBuffer hostInputView;
    private Pointer hostLogits;  // pinned float (32, vocab)
    private FloatBuffer hostLogitView;
    private Pointer hostSample;  // pinned 2 × SAMPLE_BYTES + 8
    private final CUgraphExec[] graphs = new CUgraphExec[LaunchGeometry.GRAPH_BATCHES.length];

    /**
     * Creates a context on {@code device}, loads the kernels, uploads the weights and
     * allocates the caches and activations; frees what it took if any of it fails.
     */
    CudaForward(CudaAvailability.Usable device, WeightSource weights, KernelImage image, int slots, int capacity,
                int maxRows) {
        this.d = weights.dimensions();
        this.slots = slots;
        this.capacity = capacity;
        this.maxRows = Math.max(maxRows, LaunchGeometry.MAX_GRAPH_BATCH);
        if (slotBytes(d, capacity) % LaunchGeometry.WORD_BYTES != 0) {
            throw new CudaBackendException("a KV slot of " + capacity + " positions is " + slotBytes(d, capacity)
                    + " bytes, the hygiene kernels need a multiple of " + LaunchGeometry.WORD_BYTES);
        }
        if (d.headSize() > LaunchGeometry.MAX_HEAD_SIZE) {
            throw new CudaBackendException("head size " + d.headSize() + " is above the attention kernel's "
                    + LaunchGeometry.MAX_HEAD_SIZE);
        }
        var dev = new CUdevice();
        cuDeviceGet(dev, device.ordinal());
        cuCtxCreate(context, 0, dev);
        try {
            kernelsFromPtx = loadModule(image);
            for (String name : KernelImage.KERNELS) {
                var f = new CUfunction();
                cuModuleGetFunction(f, module, name);
                functions.put(name, f);
            }
            cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
            checkFits(weights);
            upload(weights);
            allocateState();
            captureGraphs();
        } catch (RuntimeException e) {
            close();
            throw e instanceof CudaException ce ? new CudaBackendException("CUDA setup failed: " + ce.getMessage(), ce) : e;
        }
    }

    /** Loads the fatbin, or the PTX when the driver refuses it; true when the PTX was used. */
    private boolean loadModule(KernelImage image) {
        try {
            cuModuleLoadData(module, image.fatbin());
            return false;
        } catch (CudaException fatbinRefused) {
            LOG.info("the driver refused the kernel fatbin ({}), compiling the PTX instead", fatbinRefused.getMessage());
            cuModuleLoadData(module, image.ptx());
            return true;
        }
    }

    boolean kernelsFromPtx() {
        return kernelsFromPtx;
    }

    /** Device bytes the weights, caches and activations need, against what is free. */
    private void checkFits(WeightSource weights) {
        long need = 0;
        for (int l = 0; l < d.layers(); l++) {
            LlamaModel.Layer layer = weights.layer(l);
            for (LlamaModel.Tensor t : List.of(layer.wq(), layer.wk(), layer.wv(), layer.wo(), layer.w1(), layer.w2(),
                    layer.w3())) {
                need += LaunchGeometry.aligned(DeviceTensor.deviceBytes(t.type(), (long) t.rows() * t.cols()));
            }
        }
        LlamaModel.Tensor e = weights.tokenEmbedding();
        need += DeviceTensor.deviceBytes(e.type(), (long) e.rows() * e.cols());
        need += DeviceTensor.deviceBytes(weights.classifier().type(), (long) e.rows() * e.cols());
        need += 2 * (slots + 1L) * slotBytes(d, capacity) + activationBytes(d, maxRows);
        long[] free = new long[1];
        long[] total = new long[1];
        cuMemGetInfo(free, total);
        if (need > free[0]) {
            throw new CudaBackendException("the model needs " + need + " bytes of device memory (weights, "
                    + (slots + 1) + " KV slots of " + capacity + " positions, activations), " + free[0] + " of "
                    + total[0] + " are free");
        }
    }

    static long slotBytes(LlamaModel.Dimensions d, int capacity) {
        return (long) d.layers() * capacity * d.kvDim() * Float.BYTES;
    }

    static long activationBytes(LlamaModel.Dimensions d, int rows) {
        long floats = (long) rows * (3L * d.dim() + 2L * d.kvDim() + d.hiddenDim())
                + (long) LaunchGeometry.MAX_GRAPH_BATCH * d.vocabSize();
        return LaunchGeometry.aligned(floats * Float.BYTES + 6 * 256L);
    }

    private void upload(WeightSource weights) {
        try (var uploader = new WeightUploader(stream, STAGING_BYTES)) {
            LlamaModel.Tensor e = weights.tokenEmbedding();
            embedding = keep(uploader.upload("token_embd", e));
            LlamaModel.Tensor c = weights.classifier();
            boolean tied = c.bytes().address() == e.bytes().address() && c.bytes().byteSize() == e.bytes().byteSize();
            classifier = tied ? embedding : keep(uploader.upload("output", c));
            matrices = new DeviceTensor[d.layers()][];
            rmsAttention = new CUdeviceptr[d.layers()];
            rmsFfn = new CUdeviceptr[d.layers()];
            for (int l = 0; l < d.layers(); l++) {
                LlamaModel.Layer layer = weights.layer(l);
                if (layer.w1().type() != layer.w3().type()) {
                    throw new CudaBackendException("layer " + l + ": gate " + layer.w1().type() + " and up "
                            + layer.w3().type() + " differ, the fused SwiGLU kernel needs one type");
                }
                String p = "blk." + l + ".";
                matrices[l] = new DeviceTensor[] {
                        keep(uploader.upload(p + "attn_q", layer.wq())), keep(uploader.upload(p + "attn_k", layer.wk())),
                        keep(uploader.upload(p + "attn_v", layer.wv())),
                        keep(uploader.upload(p + "attn_output", layer.wo())),
                        keep(uploader.upload(p + "ffn_gate", layer.w1())), keep(uploader.upload(p + "ffn_down", layer.w2())),
                        keep(uploader.upload(p + "ffn_up", layer.w3()))};
                rmsAttention[l] = floats(layer.rmsAttention());
                rmsFfn[l] = floats(layer.rmsFfn());
            }
            rmsFinal = floats(weights.rmsFinal());
            uploader.drain();
            weightBytes = uploader.uploadedBytes();
        }
    }

    long weightBytes() {
        return weightBytes;
    }

    private DeviceTensor keep(DeviceTensor t) {
        allocations.add(t.data());
        return t;
    }

    private CUdeviceptr floats(float[] values) {
        CUdeviceptr p = alloc((long) values.length * Float.BYTES);
        cuMemcpyHtoD(p, Pointer.to(values), (long) values.length * Float.BYTES);
        return p;
    }

    private CUdeviceptr alloc(long bytes) {
        var p = new CUdeviceptr();
        cuMemAlloc(p, bytes);
        allocations.add(p);
        return p;
    }

    private void allocateState() {
        slotBytes = slotBytes(d, capacity);
        keys = alloc((slots + 1L) * slotBytes);
        values = alloc((slots + 1L) * slotBytes);
        activationBytes = activationBytes(d, maxRows);
        activations = alloc(activationBytes);
        long at = 0;
        x = activations.withByteOffset(at);
        at += LaunchGeometry.aligned((long) maxRows * d.dim() * Float.BYTES);
        xb = activations.withByteOffset(at);
        at += LaunchGeometry.aligned((long) maxRows * d.dim() * Float.BYTES);
        q = activations.withByteOffset(at);
        at += LaunchGeometry.aligned((long) maxRows * d.dim() * Float.BYTES);
        k = activations.withByteOffset(at);
        at += LaunchGeometry.aligned((long) maxRows * d.kvDim() * Float.BYTES);
        v = activations.withByteOffset(at);
        at += LaunchGeometry.aligned((long) maxRows * d.kvDim() * Float.BYTES);
        h = activations.withByteOffset(at);
        at += LaunchGeometry.aligned((long) maxRows * d.hiddenDim() * Float.BYTES);
        logits = activations.withByteOffset(at);
        inputs = alloc(3L * maxRows * Integer.BYTES);
        counter = alloc(Long.BYTES);
        hostInputs = new Pointer();
        cuMemAllocHost(hostInputs, 3L * maxRows * Integer.BYTES);
        hostInputView = hostInputs.getByteBuffer(0, 3L * maxRows * Integer.BYTES).order(ByteOrder.nativeOrder())
                .asIntBuffer();
        long logitBytes = (long) LaunchGeometry.MAX_GRAPH_BATCH * d.vocabSize() * Float.BYTES;
        hostLogits = new Pointer();
        cuMemAllocHost(hostLogits, logitBytes);
        hostLogitView = hostLogits.getByteBuffer(0, logitBytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
        hostSample = new Pointer();
        cuMemAllocHost(hostSample, 2L * SAMPLE_BYTES + Long.BYTES);
        zero(keys, (slots + 1L) * slotBytes);
        zero(values, (slots + 1L) * slotBytes);
        zero(activations, activationBytes);
        cuStreamSynchronize(stream);
    }

    private CUdeviceptr tokens() {
        return inputs;
    }

    private CUdeviceptr positions() {
        return inputs.withByteOffset((long) maxRows * Integer.BYTES);
    }

    private CUdeviceptr slotIndexes() {
        return inputs.withByteOffset(2L * maxRows * Integer.BYTES);
    }

    /** Captures the decode step at each graph batch size; without graphs, steps launch kernels one by one. */
    private void captureGraphs() {
        for (int i = 0; i < graphs.length; i++) {
            int rows = LaunchGeometry.GRAPH_BATCHES[i];
            var graph = new CUgraph();
            try {
                cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
                layers(rows);
                logitsOf(x, rows);
                cuStreamEndCapture(stream, graph);
                var exec = new CUgraphExec();
                cuGraphInstantiate(exec, graph, 0);
                graphs[i] = exec;
            } catch (CudaException e) {
                endAbandonedCapture();
                LOG.warn("cannot capture the decode step of {} rows as a CUDA graph ({}); it runs kernel by kernel",
                        rows, e.getMessage());
                return;
            } finally {
                cuGraphDestroy(graph);
            }
        }
    }

    private void endAbandonedCapture() {
        try {
            cuStreamEndCapture(stream, new CUgraph());
        } catch (CudaException ignored) {
            // the capture had already ended; the stream is usable either way
        }
    }

    /**
     * One decode step: row i runs {@code tokens[i]} at {@code positions[i]} in slot
     * {@code slotOf[i]}, for i in [0, rows), rows ≤ 32; writes the logits of row i into
     * {@code out[i]}.
     */
    void decode(int rows, int[] tokenIds, int[] positionIds, int[] slotOf, float[][] out) {
        int batch = LaunchGeometry.graphBatch(rows);
        writeInputs(rows, batch, tokenIds, 0, positionIds, slotOf, -1, 0);
        int graph = graphIndex(batch);
        if (graphs[graph] != null) {
            cuGraphLaunch(graphs[graph], stream);
        } else {
            layers(batch);
            logitsOf(x, batch);
        }
        readLogits(rows, out);
    }

    /**
     * Runs {@code count} prompt tokens of one sequence, {@code prompt[from, from + count)} at
     * positions {@code from...}, in slot {@code slot}; count ≤ {@code maxRows}. When
     * {@code logitsOut} is not null it receives the logits of the last row.
     */
    void prefill(int slot, int[] prompt, int from, int count, float[] logitsOut) {
        if (count < 1 || count > maxRows) {
            throw new IllegalArgumentException("prompt chunk of " + count + " rows, must be 1 to " + maxRows);
        }
        writeInputs(count, count, prompt, from, null, null, slot, from);
        layers(count);
        if (logitsOut != null) {
            logitsOf(x.withByteOffset((long) (count - 1) * d.dim() * Float.BYTES), 1);
            readLogits(1, new float[][] {logitsOut});
        } else {
            cuStreamSynchronize(stream);
        }
    }

    private static int graphIndex(int batch) {
        for (int i = 0; i < LaunchGeometry.GRAPH_BATCHES.length; i++) {
            if (LaunchGeometry.GRAPH_BATCHES[i] == batch) {
                return i;
            }
        }
        throw new IllegalArgumentException("no graph of " + batch + " rows");
    }

    /**
     * Rows [0, rows) from the arrays, or when {@code positionIds} is null a prompt chunk
     * (tokens from {@code tokenIds[tokenFrom...]}, positions from {@code firstPosition},
     * all in {@code promptSlot}); rows [rows, batch) are padding in the scratch slot.
     */
    private void writeInputs(int rows, int batch, int[] tokenIds, int tokenFrom, int[] positionIds, int[] slotOf,
                             int promptSlot, int firstPosition) {
        IntBuffer in = hostInputView;
        for (int r = 0; r < maxRows; r++) {
            boolean real = r < rows;
            boolean prompt = positionIds == null;
            int token = real ? tokenIds[tokenFrom + r] : 0;
            int position = !real ? 0 : prompt ? firstPosition + r : positionIds[r];
            int slot = !real ? slots : prompt ? promptSlot : slotOf[r];
            if (real && (position < 0 || position >= capacity || slot < 0 || slot >= slots || token < 0
                    || token >= d.vocabSize())) {
                throw new IllegalArgumentException("row " + r + ": token " + token + " at position " + position
                        + " in slot " + slot + ", the cache has " + slots + " slots of " + capacity + " positions");
            }
            in.put(r, token);
            in.put(maxRows + r, position);
            in.put(2 * maxRows + r, slot);
        }
        cuMemcpyHtoDAsync(inputs, hostInputs, 3L * maxRows * Integer.BYTES, stream);
    }

    private void readLogits(int rows, float[][] out) {
        long bytes = (long) rows * d.vocabSize() * Float.BYTES;
        cuMemcpyDtoHAsync(hostLogits, logits, bytes, stream);
        cuStreamSynchronize(stream);
        for (int r = 0; r < rows; r++) {
            hostLogitView.get(r * d.vocabSize(), out[r], 0, d.vocabSize());
        }
    }

    /** The layers for {@code rows} rows whose inputs are on the device. */
    private void layers(int rows) {
        int dim = d.dim();
        int kvDim = d.kvDim();
        launch("embed_" + embedding.suffix(), rows, 1, LaunchGeometry.ROW_THREADS,
                weightArgs(embedding, tokens(), x, dim));
        for (int l = 0; l < d.layers(); l++) {
            DeviceTensor[] m = matrices[l];
            launch("rmsnorm", rows, 1, LaunchGeometry.ROW_THREADS, x, rmsAttention[l], xb, dim, d.rmsEps());
            matvec(m[0], xb, q, rows, false);
            matvec(m[1], xb, k, rows, false);
            matvec(m[2], xb, v, rows, false);
            launch("rope_store_kv", rows, 1, LaunchGeometry.ROW_THREADS, q, k, v, keys, values, positions(),
                    slotIndexes(), l, d.layers(), capacity, dim, kvDim, d.headSize(), d.ropeTheta(),
                    d.ropeHalves() ? 0 : 1);
            launch("attention", d.heads(), rows, LaunchGeometry.ATTENTION_THREADS, q, keys, values, xb, positions(),
                    slotIndexes(), l, d.layers(), capacity, d.heads(), d.kvHeads(), d.headSize());
            matvec(m[3], xb, x, rows, true);
            launch("rmsnorm", rows, 1, LaunchGeometry.ROW_THREADS, x, rmsFfn[l], xb, dim, d.rmsEps());
            swiglu(m[4], m[6], xb, h, rows);
            matvec(m[5], h, x, rows, true);
        }
    }

    /** Final RMSNorm and classifier of {@code rows} rows starting at {@code from} into the logits. */
    private void logitsOf(CUdeviceptr from, int rows) {
        launch("rmsnorm", rows, 1, LaunchGeometry.ROW_THREADS, from, rmsFinal, xb, d.dim(), d.rmsEps());
        matvec(classifier, xb, logits, rows, false);
    }

    private void matvec(DeviceTensor w, CUdeviceptr in, CUdeviceptr out, int rows, boolean accumulate) {
        Object[] args = w.type() == GgmlType.Q8_0
                ? new Object[] {w.data(), w.scales(), in, out, w.rows(), w.cols(), rows, accumulate ? 1 : 0}
                : new Object[] {w.data(), in, out, w.rows(), w.cols(), rows, accumulate ? 1 : 0};
        launch("matvec_" + w.suffix(), LaunchGeometry.matvecBlocks(w.rows()), 1, LaunchGeometry.MATVEC_THREADS, args);
    }

    private void swiglu(DeviceTensor gate, DeviceTensor up, CUdeviceptr in, CUdeviceptr out, int rows) {
        Object[] args = gate.type() == GgmlType.Q8_0
                ? new Object[] {gate.data(), gate.scales(), up.data(), up.scales(), in, out, gate.rows(), gate.cols(), rows}
                : new Object[] {gate.data(), up.data(), in, out, gate.rows(), gate.cols(), rows};
        launch("swiglu_" + gate.suffix(), LaunchGeometry.matvecBlocks(gate.rows()), 1, LaunchGeometry.MATVEC_THREADS,
                args);
    }

    private static Object[] weightArgs(DeviceTensor t, Object... rest) {
        List<Object> args = new ArrayList<>();
        args.add(t.data());
        if (t.type() == GgmlType.Q8_0) {
            args.add(t.scales());
        }
        args.addAll(List.of(rest));
        return args.toArray();
    }

    private void launch(String kernel, int gridX, int gridY, int threads, Object... args) {
        CUfunction f = functions.get(kernel);
        if (f == null) {
            throw new CudaBackendException("kernel " + kernel + " was not loaded");
        }
        var params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case CUdeviceptr p -> Pointer.to(p);
                case Integer n -> Pointer.to(new int[] {n});
                case Long n -> Pointer.to(new long[] {n});
                case Float n -> Pointer.to(new float[] {n});
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            };
        }
        cuLaunchKernel(f, gridX, gridY, 1, threads, 1, 1, 0, stream, Pointer.to(params), null);
    }

    /**
     * Milliseconds the stream takes for what {@code work} enqueues, between two events on
     * it (host time spent between the launches included, as gaps in the stream).
     */
    float timeMillis(Runnable work) {
        var start = new CUevent();
        var end = new CUevent();
        cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT);
        cuEventCreate(end, CUevent_flags.CU_EVENT_DEFAULT);
        try {
            cuEventRecord(start, stream);
            work.run();
            cuEventRecord(end, stream);
            cuEventSynchronize(end);
            float[] millis = new float[1];
            cuEventElapsedTime(millis, start, end);
            return millis[0];
        } finally {
            cuEventDestroy(start);
            cuEventDestroy(end);
        }
    }

    /**
     * Device-to-device copy bandwidth in bytes moved (read plus written) per second, over
     * {@code copies} copies of {@code bytes} between two scratch buffers.
     */
    double copyBandwidth(long bytes, int copies) {
        var from = new CUdeviceptr();
        var to = new CUdeviceptr();
        cuMemAlloc(from, bytes);
        try {
            cuMemAlloc(to, bytes);
            try {
                cuMemcpyDtoDAsync(to, from, bytes, stream);
                float millis = timeMillis(() -> {
                    for (int i = 0; i < copies; i++) {
                        cuMemcpyDtoDAsync(to, from, bytes, stream);
                    }
                });
                return 2.0 * bytes * copies / (millis / 1e3);
            } finally {
                cuMemFree(to);
            }
        } finally {
            cuMemFree(from);
        }
    }

    /** What a hygiene check found. */
    sealed interface Hygiene {
        /** The memory reads back as zeros. */
        record Clean(long bytesChecked) implements Hygiene {
        }

        /** Non-zero memory after zeroing: the device cannot be trusted with another tenant. */
        record Dirty(String detail) implements Hygiene {
        }
    }

    /** Zeroes slot {@code slot} and the activations, and checks that they read back as zeros. */
    Hygiene scrub(int slot) {
        if (slot < 0 || slot >= slots) {
            throw new IllegalArgumentException("slot " + slot + ", the cache has " + slots);
        }
        return scrubRange(slot, 1);
    }

    /** Zeroes every slot and the activations and checks them (model swap, shutdown). */
    Hygiene scrubAll() {
        return scrubRange(0, slots + 1);
    }

    private Hygiene scrubRange(int firstSlot, int count) {
        long offset = firstSlot * slotBytes;
        long bytes = count * slotBytes;
        zero(keys.withByteOffset(offset), bytes);
        zero(values.withByteOffset(offset), bytes);
        zero(activations, activationBytes);
        cuMemsetD32Async(counter, 0, 2, stream);
        countNonZero(keys.withByteOffset(offset), bytes);
        countNonZero(values.withByteOffset(offset), bytes);
        countNonZero(activations, activationBytes);
        int sample = (int) Math.min(SAMPLE_BYTES, bytes);
        cuMemcpyDtoHAsync(hostSample, keys.withByteOffset(offset), sample, stream);
        cuMemcpyDtoHAsync(hostSample.withByteOffset(SAMPLE_BYTES), values.withByteOffset(offset + bytes - sample),
                sample, stream);
        cuMemcpyDtoHAsync(hostSample.withByteOffset(2L * SAMPLE_BYTES), counter, Long.BYTES, stream);
        cuStreamSynchronize(stream);
        var view = hostSample.getByteBuffer(0, 2L * SAMPLE_BYTES + Long.BYTES).order(ByteOrder.nativeOrder());
        LongBuffer sampleWords = view.asLongBuffer();
        long nonZeroWords = sampleWords.get(2 * SAMPLE_BYTES / Long.BYTES);
        if (nonZeroWords != 0) {
            return new Hygiene.Dirty(nonZeroWords + " non-zero 16-byte words after zeroing slots " + firstSlot + " to "
                    + (firstSlot + count - 1) + " and the activations");
        }
        for (int i = 0; i < 2 * SAMPLE_BYTES / Long.BYTES; i++) {
            if (i % (SAMPLE_BYTES / Long.BYTES) < sample / Long.BYTES && sampleWords.get(i) != 0) {
                return new Hygiene.Dirty("the host read back non-zero bytes at word " + i + " of slot " + firstSlot);
            }
        }
        return new Hygiene.Clean(2 * bytes + activationBytes);
    }

    private void zero(CUdeviceptr p, long bytes) {
        long words = LaunchGeometry.words(bytes);
        launch("zero_words", LaunchGeometry.wordBlocks(bytes, HYGIENE_BLOCKS), 1, LaunchGeometry.ROW_THREADS, p, words);
    }

    private void countNonZero(CUdeviceptr p, long bytes) {
        long words = LaunchGeometry.words(bytes);
        launch("count_nonzero_words", LaunchGeometry.wordBlocks(bytes, HYGIENE_BLOCKS), 1, LaunchGeometry.ROW_THREADS,
                p, words, counter);
    }

    /** Frees the device and pinned memory, the graphs, the module and the context. */
    @Override
    public void close() {
        try {
            for (CUgraphExec g : graphs) {
                if (g != null) {
                    cuGraphExecDestroy(g);
                }
            }
            for (CUdeviceptr p : allocations) {
                cuMemFree(p);
            }
            allocations.clear();
            for (Pointer p : new Pointer[] {hostInputs, hostLogits, hostSample}) {
                if (p != null) {
                    cuMemFreeHost(p);
                }
            }
            cuStreamDestroy(stream);
            cuModuleUnload(module);
        } catch (CudaException e) {
            LOG.warn("releasing CUDA resources failed: {}", e.getMessage());
        } finally {
            cuCtxDestroy(context);
        }
    }
}
