package io.gpud.inference;

import io.gpud.config.EngineConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.model.GgmlType;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.time.Clock;

/**
 * A loaded Llama model seen from outside the CPU engine: its dimensions, its weights as the
 * typed bytes they are stored in, its tokenizer and chat template. Other backends (the CUDA
 * backend in {@code io.gpud.inference.cuda}) read it to upload the weights to their device,
 * and hand it to {@link #startCpuEngine} when they cannot run it. Closing it releases the
 * mapped weights; the tokenizer and chat template stay usable.
 */
public final class LlamaModel implements AutoCloseable {
    private final LoadedModel model;

    private LlamaModel(LoadedModel model) {
        this.model = model;
    }

    /**
     * Loads a model as {@link CpuBackend#load} does.
     *
     * @param servedName the name clients use, or null for the file name without extension
     */
    public static LlamaModel load(Path modelFile, Path tokenizerFile, String servedName) {
        String name = servedName != null ? servedName : defaultName(modelFile);
        return new LlamaModel(LlamaLoader.load(modelFile, tokenizerFile, name,
                Clock.systemUTC().instant().getEpochSecond()));
    }

    private static String defaultName(Path file) {
        String fileName = file.getFileName().toString();
        int dot = fileName.lastIndexOf('.');
        return dot > 0 ? fileName.substring(0, dot) : fileName;
    }

    /**
     * The hyperparameters of a Llama transformer, as {@code LlamaConfig} holds them.
     *
     * @param ropeHalves the RoPE pairs are (i, i + headSize/2) rather than (2i, 2i + 1)
     */
    public record Dimensions(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
                             int contextLength, float ropeTheta, float rmsEps, boolean ropeHalves) {
        public int headSize() {
            return dim / heads;
        }

        public int kvDim() {
            return kvHeads * headSize();
        }
    }

    /**
     * One weight matrix as stored: {@code rows × cols} elements of {@code type}, row-major,
     * in {@code bytes} (GGUF block layout for quantized types).
     */
    public record Tensor(GgmlType type, MemorySegment bytes, int rows, int cols) {
    }

    /** The matrices of one transformer block. */
    public record Layer(float[] rmsAttention, Tensor wq, Tensor wk, Tensor wv, Tensor wo, float[] rmsFfn,
                        Tensor w1, Tensor w2, Tensor w3) {
    }

    public Dimensions dimensions() {
        LlamaConfig c = model.llama().config();
        return new Dimensions(c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.vocabSize(),
                c.contextLength(), c.ropeTheta(), c.rmsEps(), c.rope() == LlamaConfig.RopeLayout.HALVES);
    }

    /**
     * What this model computes beyond the plain Llama forward pass that {@link Dimensions}
     * and {@link Layer} describe (head size dim / heads, RoPE over whole heads by one base, no
     * biases, norms or caps besides Llama's), one phrase each; empty for a plain Llama. A
     * backend that runs only that pass refuses a model with any.
     */
    public List<String> beyondPlainLlama() {
        LlamaConfig c = model.llama().config();
        LlamaWeights w = model.llama().weights();
        var beyond = new ArrayList<String>();
        if (c.architecture() != Architecture.LLAMA) {
            beyond.add("architecture " + c.architecture().ggufName());
        }
        if (c.headSize() * c.heads() != c.dim()) {
            beyond.add("head size " + c.headSize() + " ≠ dim / heads");
        }
        LlamaConfig.Rotary rotary = c.rotary();
        if (rotary.dims() != c.headSize() || rotary.scale() != 1f || rotary.factors() != null) {
            beyond.add("scaled or partial RoPE");
        }
        if (!c.attention().equals(LlamaConfig.Attention.plain(c.headSize())) || c.logitSoftCap() != 0f) {
            beyond.add("attention scale, soft cap or sliding window");
        }
        if (w.qBias() != null) {
            beyond.add("query/key/value biases");
        }
        return beyond;
    }

    /** Layer {@code l}'s weights. */
    public Layer layer(int l) {
        LlamaConfig c = model.llama().config();
        LlamaWeights w = model.llama().weights();
        int dim = c.dim();
        int kv = c.kvDim();
        int hidden = c.hiddenDim();
        return new Layer(w.rmsAttention()[l].clone(), tensor(w.wq()[l], dim, dim), tensor(w.wk()[l], kv, dim),
                tensor(w.wv()[l], kv, dim), tensor(w.wo()[l], dim, dim), w.rmsFfn()[l].clone(),
                tensor(w.w1()[l], hidden, dim), tensor(w.w2()[l], dim, hidden), tensor(w.w3()[l], hidden, dim));
    }

    /** (vocab, dim) */
    public Tensor tokenEmbedding() {
        LlamaConfig c = model.llama().config();
        return tensor(model.llama().weights().tokenEmbedding(), c.vocabSize(), c.dim());
    }

    /** (vocab, dim); the same bytes as the token embedding when tied. */
    public Tensor classifier() {
        LlamaConfig c = model.llama().config();
        return tensor(model.llama().weights().classifier(), c.vocabSize(), c.dim());
    }

    /** (dim) */
    public float[] rmsFinal() {
        return model.llama().weights().rmsFinal().clone();
    }

    private static Tensor tensor(FloatTensor t, int rows, int cols) {
        GgmlType type = switch (t) {
            case FloatTensor.F32 f -> GgmlType.F32;
            case FloatTensor.F16 f -> GgmlType.F16;
            case FloatTensor.BF16 f -> GgmlType.BF16;
            case FloatTensor.Q8 f -> GgmlType.Q8_0;
            case FloatTensor.Q4 f -> GgmlType.Q4_0;
            case QuantizedTensor q -> q.type;
        };
        return new Tensor(type, t.data, rows, cols);
    }

    public ModelInfo info() {
        return model.info();
    }

    public Tokenizer tokenizer() {
        return model.tokenizer();
    }

    public ChatTemplate chatTemplate() {
        return model.chatTemplate();
    }

    /** Bytes of the KV cache of one sequence of {@code positions} positions, in float32. */
    public long kvCacheBytes(int positions) {
        return model.llama().kvCacheBytes(positions);
    }

    /**
     * Starts the CPU engine on this model, which it then owns (closing the engine closes the
     * model); {@code quarantineListener} hears why it took itself out of service, if it does.
     */
    public Engine startCpuEngine(EngineConfig config, Consumer<String> quarantineListener) {
        return CpuBackend.start(model, config, MonotonicClock.system(), quarantineListener);
    }

    @Override
    public void close() {
        model.close();
    }
}
