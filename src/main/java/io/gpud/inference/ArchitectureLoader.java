package io.gpud.inference;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufTensor;
import io.gpud.model.SafetensorsFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The hyperparameters and weights of every {@link Architecture}, from a GGUF file or a
 * Hugging Face safetensors model.
 *
 * <p>GGUF: metadata keys are {@code <general.architecture>.<key>} (llama.cpp's
 * {@code llama-arch.cpp}), tensors {@code blk.N.attn_q.weight} and so on. Llama's
 * converters permute the query and key rows so that RoPE turns adjacent pairs; the other
 * families keep Hugging Face's rows and turn halves ({@link Architecture#ggufRope}). Gemma's
 * converters store RMSNorm weights as 1 + w. Llama 3.1's RoPE scaling comes as the
 * per-pair divisors in {@code rope_freqs.weight}.
 *
 * <p>Hugging Face: {@code config.json} (its {@code text_config} for Gemma 3's multimodal
 * checkpoints) gives the shape, a Gemma key it leaves out taking the value of its
 * {@code transformers} config class ({@link #HF_CLASS_DEFAULTS}), tensors are named {@code model.layers.N.self_attn.q_proj.weight}
 * and so on, RoPE always turns halves, Gemma's norms are w (the model adds 1 here), and
 * {@code rope_scaling} of type {@code llama3} is turned into the same divisors as GGUF's.
 * Both read through {@link Tensors}, which names tensors the GGUF way; the Hugging Face one
 * translates.
 *
 * <p>Phi-3's fused matrices ({@code attn_qkv}, and {@code ffn_up} holding gate then up) are
 * cut into views of their rows, no copies. Phi-3's sliding window is ignored as llama.cpp
 * does; Phi-3's LongRoPE and YaRN scaling are refused.
 *
 * <p>Biases: only Qwen2's on the query, key and value projections are computed; a file with
 * any other bias (llama.cpp's optional {@code attn_output.bias}, {@code ffn_*.bias},
 * {@code output.bias}; Hugging Face's {@code attention_bias} or {@code mlp_bias}) is refused.
 */
final class ArchitectureLoader {
    private ArchitectureLoader() {
    }

    /** Tensors by GGUF name, shapes rows first ({@code [rows, cols]} or {@code [n]}). */
    interface Tensors {
        boolean has(String name);

        long[] shape(String name);

        GgmlType type(String name);

        MemorySegment data(String name);

        /** The file, for error messages. */
        String where();

        /** Norm weights as the model multiplies by them ({@code 1 + w} where the file holds w). */
        float normOffset();
    }

    // ---- GGUF

    static LlamaConfig ggufConfig(GgufFile gguf) {
        String name = gguf.getString("general.architecture");
        Architecture a = Architecture.fromGguf(name);
        if (a == null) {
            throw new InferenceException(gguf.path() + ": architecture " + name + " is not supported, only "
                    + Architecture.names());
        }
        String p = name + ".";
        int dim = gguf.getInt(p + "embedding_length");
        int heads = gguf.getInt(p + "attention.head_count");
        if (heads <= 0) {
            throw new InferenceException(gguf.path() + ": " + p + "attention.head_count was " + heads + ", must be > 0");
        }
        int headSize = gguf.getInt(p + "attention.key_length", dim / heads);
        int valueSize = gguf.getInt(p + "attention.value_length", headSize);
        if (valueSize != headSize) {
            throw new InferenceException(gguf.path() + ": key length " + headSize + " and value length " + valueSize
                    + " differ, which no supported architecture does");
        }
        int layers = gguf.getInt(p + "block_count");
        GgufTensor embedding = gguf.tensor("token_embd.weight");
        long[] embeddingDims = embedding.dims();
        if (embeddingDims.length != 2 || embeddingDims[0] != dim) {
            throw new InferenceException(gguf.path() + ": tensor token_embd.weight has dims "
                    + Arrays.toString(embeddingDims) + ", expected [" + dim + ", vocab]");
        }
        float theta = gguf.getFloat(p + "rope.freq_base", 10000f);
        String scaling = gguf.getString(p + "rope.scaling.type", "none");
        float scale = switch (scaling) {
            case "none" -> 1f;
            case "linear" -> {
                float factor = gguf.getFloat(p + "rope.scaling.factor", 0f);
                yield factor == 0f ? 1f : 1f / factor;
            }
            default -> throw new InferenceException(gguf.path() + ": RoPE scaling " + scaling
                    + " is not supported, only none, linear and llama3 (rope_freqs.weight)");
        };
        if (gguf.tensors().containsKey("rope_factors_long.weight")) {
            throw new InferenceException(gguf.path() + ": LongRoPE (rope_factors_long.weight) is not supported");
        }
        int ropeDims = gguf.getInt(p + "rope.dimension_count", headSize);
        float[] factors = gguf.tensors().containsKey("rope_freqs.weight")
                ? vector(ggufTensors(gguf), "rope_freqs.weight", ropeDims / 2) : null;

        int window = 0;
        int pattern = 1; // no layer slides (see periodic)
        float slidingTheta = theta;
        float attentionCap = 0f;
        float logitCap = 0f;
        float queryScalar = headSize;
        switch (a) {
            case GEMMA2 -> {
                window = gguf.getInt(p + "attention.sliding_window", 4096);
                pattern = gguf.getInt(p + "attention.sliding_window_pattern", 2);
                slidingTheta = gguf.getFloat(p + "rope.freq_base_swa", theta);
                attentionCap = gguf.getFloat(p + "attn_logit_softcapping", 50f);
                logitCap = gguf.getFloat(p + "final_logit_softcapping", 30f);
                queryScalar = gemmaQueryScalar(layers == 46, dim, heads, headSize);
            }
            case GEMMA3 -> {
                window = gguf.getInt(p + "attention.sliding_window", 0);
                pattern = gguf.getInt(p + "attention.sliding_window_pattern", 6);
                slidingTheta = gguf.getFloat(p + "rope.freq_base_swa", 10000f);
                logitCap = gguf.getFloat(p + "final_logit_softcapping", 0f);
                queryScalar = gemmaQueryScalar(layers == 62, dim, heads, headSize);
            }
            default -> {
            }
        }
        return new LlamaConfig(a, dim, gguf.getInt(p + "feed_forward_length"), layers, heads,
                gguf.getInt(p + "attention.head_count_kv", heads), headSize, Math.toIntExact(embeddingDims[1]),
                gguf.getInt(p + "context_length"), theta, gguf.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f),
                !gguf.tensors().containsKey("output.weight"), a.ggufRope(),
                new LlamaConfig.Rotary(ropeDims, scale, factors, slidingTheta),
                periodic(queryScalar, attentionCap, window, pattern), logitCap);
    }

    /**
     * Attention whose layer l slides when {@code period} is 0 (every layer) or l mod period
     * &lt; period − 1, as llama.cpp ({@code set_swa_pattern}) and transformers read their
     * sliding window pattern: so 1 means that no layer slides.
     */
    private static LlamaConfig.Attention periodic(float queryScalar, float softCap, int window, int period) {
        if (period < 0) {
            throw new InferenceException("sliding window pattern was " + period + ", must be ≥ 0");
        }
        return new LlamaConfig.Attention(queryScalar, softCap, period == 1 ? 0 : window, period == 0 ? 1 : period);
    }

    /**
     * Gemma's query_pre_attn_scalar, which GGUF does not carry: dim / heads for the 27B models
     * (told apart by their layer count, as llama.cpp does), the head size for the others.
     */
    private static float gemmaQueryScalar(boolean is27b, int dim, int heads, int headSize) {
        return is27b ? (float) dim / heads : headSize;
    }

    static Tensors ggufTensors(GgufFile gguf) {
        return new Tensors() {
            @Override
            public boolean has(String name) {
                return gguf.tensors().containsKey(name);
            }

            @Override
            public long[] shape(String name) {
                long[] dims = gguf.tensor(name).dims();
                return dims.length == 2 ? new long[] {dims[1], dims[0]} : dims;
            }

            @Override
            public GgmlType type(String name) {
                return gguf.tensor(name).type();
            }

            @Override
            public MemorySegment data(String name) {
                return gguf.tensor(name).data();
            }

            @Override
            public String where() {
                return gguf.path().toString();
            }

            @Override
            public float normOffset() {
                return 0f; // GGUF converters store Gemma's 1 + w
            }
        };
    }

    // ---- Hugging Face

    /** The family of a Hugging Face config.json, or an error naming what it says. */
    static Architecture hfArchitecture(Path dir, JsonNode hf) {
        String type = hf.path("model_type").asText(hf.path("architectures").path(0).asText("")
                .replace("ForCausalLM", "").replace("ForConditionalGeneration", ""));
        Architecture a = Architecture.fromHuggingFace(type);
        if (a == null) {
            String declared = hf.path("architectures").path(0).asText("");
            throw new InferenceException(dir + "/config.json: model_type '" + type + "' (" + declared
                    + ") is not supported, only " + Architecture.names() + " and mistral");
        }
        return a;
    }

    /**
     * What transformers' config classes give a key that config.json leaves out, for the
     * families whose checkpoints rely on it (Gemma 3's multimodal {@code text_config} omits
     * heads, head size and context, as llama.cpp's converter notes in {@code gemma.py}): the
     * constructor defaults of {@code Gemma2Config} and {@code Gemma3TextConfig} in
     * transformers. Other families' keys are required, but for {@code num_key_value_heads}
     * (the query heads) and {@code head_dim} (hidden_size / num_attention_heads).
     */
    static final Map<Architecture, Map<String, Integer>> HF_CLASS_DEFAULTS = Map.of(
            Architecture.GEMMA2, Map.of("vocab_size", 256000, "hidden_size", 3072, "intermediate_size", 24576,
                    "num_hidden_layers", 28, "num_attention_heads", 16, "num_key_value_heads", 16, "head_dim", 256,
                    "max_position_embeddings", 8192, "query_pre_attn_scalar", 224, "sliding_window", 4096),
            Architecture.GEMMA3, Map.of("vocab_size", 262208, "hidden_size", 2304, "intermediate_size", 9216,
                    "num_hidden_layers", 26, "num_attention_heads", 8, "num_key_value_heads", 4, "head_dim", 256,
                    "max_position_embeddings", 131072, "query_pre_attn_scalar", 256, "sliding_window", 4096));

    static LlamaConfig hfConfig(Path dir, JsonNode root, boolean hasLmHead) {
        Architecture a = hfArchitecture(dir, root);
        JsonNode hf = root.path("text_config").isObject() ? root.path("text_config") : root;
        boolean gemma = a == Architecture.GEMMA2 || a == Architecture.GEMMA3;
        Map<String, Integer> defaults = HF_CLASS_DEFAULTS.getOrDefault(a, Map.of());
        int heads = hfInt(dir, hf, defaults, "num_attention_heads", -1);
        int dim = hfInt(dir, hf, defaults, "hidden_size", -1);
        if (heads <= 0) {
            throw new InferenceException(dir + "/config.json: num_attention_heads was " + heads + ", must be > 0");
        }
        int headSize = hfInt(dir, hf, defaults, "head_dim", dim / heads);
        int layers = hfInt(dir, hf, defaults, "num_hidden_layers", -1);
        // RoPE: rope_theta and rope_scaling, or (newer configs) rope_parameters, per layer kind for Gemma 3
        JsonNode ropeParameters = hf.path("rope_parameters");
        JsonNode full = ropeParameters.has("full_attention") ? ropeParameters.path("full_attention") : ropeParameters;
        JsonNode scaling = full.isObject() ? full : hf.path("rope_scaling");
        float theta = (float) full.path("rope_theta")
                .asDouble(hf.path("rope_theta").asDouble(a == Architecture.GEMMA3 ? 1_000_000 : 10000));
        double partial = full.path("partial_rotary_factor").asDouble(hf.path("partial_rotary_factor").asDouble(1.0));
        int ropeDims = (int) (headSize * partial); // transformers: int(head_dim * partial_rotary_factor)
        float scale = 1f;
        float[] factors = null;
        if (scaling.isObject()) {
            String type = scaling.path("rope_type").asText(scaling.path("type").asText("default"));
            switch (type) {
                case "default" -> {
                }
                case "linear" -> scale = (float) (1 / scaling.path("factor").asDouble(1.0));
                case "llama3" -> factors = llama3Factors(ropeDims, theta, scaling);
                default -> throw new InferenceException(dir + "/config.json: rope_scaling type " + type
                        + " is not supported, only linear and llama3");
            }
        }
        int window = 0;
        int pattern = 1; // no layer slides (see periodic)
        float slidingTheta = theta;
        if (gemma) {
            window = hfInt(dir, hf, defaults, "sliding_window", -1);
            pattern = a == Architecture.GEMMA2 ? 2 : slidingPattern(dir, hf, layers);
            slidingTheta = a == Architecture.GEMMA2 ? theta : (float) ropeParameters.path("sliding_attention")
                    .path("rope_theta").asDouble(hf.path("rope_local_base_freq").asDouble(10000));
        }
        float queryScalar = gemma ? (float) hf.path("query_pre_attn_scalar").asDouble(defaults.get("query_pre_attn_scalar"))
                : headSize;
        var attention = periodic(queryScalar,
                gemma ? softCap(hf, "attn_logit_softcapping", a == Architecture.GEMMA2 ? 50 : 0) : 0f,
                window, pattern);
        return new LlamaConfig(a, dim, hfInt(dir, hf, defaults, "intermediate_size", -1), layers, heads,
                hfInt(dir, hf, defaults, "num_key_value_heads", heads), headSize,
                hfInt(dir, hf, defaults, "vocab_size", -1), hfInt(dir, hf, defaults, "max_position_embeddings", -1), theta,
                (float) hf.path("rms_norm_eps").asDouble(gemma ? 1e-6 : 1e-5),
                hf.path("tie_word_embeddings").asBoolean(gemma) || !hasLmHead, LlamaConfig.RopeLayout.HALVES,
                new LlamaConfig.Rotary(ropeDims, scale, factors, slidingTheta), attention,
                gemma ? softCap(hf, "final_logit_softcapping", a == Architecture.GEMMA2 ? 30 : 0) : 0f);
    }

    /** An integer of config.json, else the family's class default, else {@code otherwise} (-1: required). */
    private static int hfInt(Path dir, JsonNode hf, Map<String, Integer> defaults, String key, int otherwise) {
        return jsonInt(dir, hf, key, defaults.getOrDefault(key, otherwise));
    }

    /** A soft cap of config.json: {@code absent} when the key is missing (the family's default), 0 (none) when null. */
    private static float softCap(JsonNode hf, String key, float absent) {
        JsonNode node = hf.path(key);
        return node.isMissingNode() ? absent : node.isNull() ? 0f : (float) node.asDouble(0);
    }

    /**
     * Gemma 3's sliding pattern as {@link #periodic} reads it: {@code sliding_window_pattern}, or
     * the period of {@code layer_types} (newer configs), which must then be n − 1 sliding layers
     * and a full one.
     */
    private static int slidingPattern(Path dir, JsonNode hf, int layers) {
        JsonNode types = hf.path("layer_types");
        if (!types.isArray()) {
            return jsonInt(dir, hf, "sliding_window_pattern", 6);
        }
        int pattern = 0;
        while (pattern < types.size() && !types.get(pattern).asText().equals("full_attention")) {
            pattern++;
        }
        pattern = pattern == types.size() ? 0 : pattern + 1;
        for (int l = 0; l < types.size(); l++) {
            boolean sliding = pattern == 0 || l % pattern < pattern - 1;
            if (types.size() != layers || types.get(l).asText().equals("sliding_attention") != sliding) {
                throw new InferenceException(dir + "/config.json: layer_types " + types
                        + " is not n − 1 sliding layers and a full one, repeated");
            }
        }
        return pattern;
    }

    /**
     * Llama 3.1's RoPE scaling as per-pair frequency divisors: wavelengths shorter than
     * original context / high_freq_factor keep their frequency, those longer than original
     * context / low_freq_factor are divided by {@code factor}, and those between blend the two.
     */
    static float[] llama3Factors(int dims, float theta, JsonNode scaling) {
        double factor = scaling.path("factor").asDouble(8.0);
        double low = scaling.path("low_freq_factor").asDouble(1.0);
        double high = scaling.path("high_freq_factor").asDouble(4.0);
        double original = scaling.path("original_max_position_embeddings").asDouble(8192);
        double lowWavelength = original / low;
        double highWavelength = original / high;
        float[] factors = new float[dims / 2];
        for (int i = 0; i < factors.length; i++) {
            double frequency = 1 / Math.pow(theta, 2.0 * i / dims);
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength < highWavelength) {
                factors[i] = 1f;
            } else if (wavelength > lowWavelength) {
                factors[i] = (float) factor;
            } else {
                double smooth = (original / wavelength - low) / (high - low);
                factors[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return factors;
    }

    /**
     * The safetensors tensors under GGUF names: {@code prefix} is what precedes
     * {@code embed_tokens.weight} ({@code model.}, or {@code model.language_model.} in Gemma 3's
     * multimodal checkpoints).
     */
    static Tensors hfTensors(SafetensorsFile file, Architecture a) {
        String prefix = null;
        for (String name : file.tensors().keySet()) {
            if (name.endsWith("embed_tokens.weight") && (prefix == null || name.length() < prefix.length())) {
                prefix = name.substring(0, name.length() - "embed_tokens.weight".length());
            }
        }
        if (prefix == null) {
            throw new InferenceException(file.path() + ": no embed_tokens.weight tensor");
        }
        String layersAt = prefix;
        boolean gemma = a == Architecture.GEMMA2 || a == Architecture.GEMMA3;
        return new Tensors() {
            private String hf(String gguf) {
                if (gguf.startsWith("blk.")) {
                    int dot = gguf.indexOf('.', 4);
                    String part = gguf.substring(dot + 1);
                    String kind = part.endsWith(".bias") ? "bias" : "weight";
                    String base = part.substring(0, part.lastIndexOf('.'));
                    String hfPart = switch (base) {
                        case "attn_norm" -> "input_layernorm";
                        case "attn_q" -> "self_attn.q_proj";
                        case "attn_k" -> "self_attn.k_proj";
                        case "attn_v" -> "self_attn.v_proj";
                        case "attn_qkv" -> "self_attn.qkv_proj";
                        case "attn_output" -> "self_attn.o_proj";
                        case "attn_q_norm" -> "self_attn.q_norm";
                        case "attn_k_norm" -> "self_attn.k_norm";
                        case "post_attention_norm" -> "post_attention_layernorm";
                        case "ffn_norm" -> gemma ? "pre_feedforward_layernorm" : "post_attention_layernorm";
                        case "post_ffw_norm" -> "post_feedforward_layernorm";
                        case "ffn_gate" -> "mlp.gate_proj";
                        case "ffn_up" -> a == Architecture.PHI3 ? "mlp.gate_up_proj" : "mlp.up_proj";
                        case "ffn_down" -> "mlp.down_proj";
                        default -> base;
                    };
                    return layersAt + "layers." + gguf.substring(4, dot) + "." + hfPart + "." + kind;
                }
                return switch (gguf) {
                    case "token_embd.weight" -> layersAt + "embed_tokens.weight";
                    case "output_norm.weight" -> layersAt + "norm.weight";
                    case "output_norm.bias" -> layersAt + "norm.bias";
                    case "output.weight" -> "lm_head.weight";
                    case "output.bias" -> "lm_head.bias";
                    default -> gguf;
                };
            }

            @Override
            public boolean has(String name) {
                return file.tensors().containsKey(hf(name));
            }

            @Override
            public long[] shape(String name) {
                return file.tensor(hf(name)).shape();
            }

            @Override
            public GgmlType type(String name) {
                return file.tensor(hf(name)).type();
            }

            @Override
            public MemorySegment data(String name) {
                return file.tensor(hf(name)).data();
            }

            @Override
            public String where() {
                return file.path() + " (tensor names as in GGUF)";
            }

            @Override
            public float normOffset() {
                return a.unitOffsetNorms() ? 1f : 0f;
            }
        };
    }

    // ---- weights, from either

    static LlamaWeights weights(LlamaConfig c, Tensors t) {
        Architecture a = c.architecture();
        int dim = c.dim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        int headSize = c.headSize();
        int layers = c.layers();
        IntFunction<String> blk = l -> "blk." + l + ".";
        boolean fusedQkv = t.has("blk.0.attn_qkv.weight");
        boolean fusedGateUp = a == Architecture.PHI3;
        FloatTensor[][] qkv = new FloatTensor[layers][];
        FloatTensor[][] gateUp = new FloatTensor[layers][];
        for (int l = 0; l < layers; l++) {
            String b = blk.apply(l);
            qkv[l] = fusedQkv
                    ? rowsOf(t, b + "attn_qkv.weight", dim, qDim, kvDim, kvDim)
                    : new FloatTensor[] {matrix(t, b + "attn_q.weight", qDim, dim), matrix(t, b + "attn_k.weight", kvDim, dim),
                            matrix(t, b + "attn_v.weight", kvDim, dim)};
            gateUp[l] = fusedGateUp
                    ? rowsOf(t, b + "ffn_up.weight", dim, hidden, hidden)
                    : new FloatTensor[] {matrix(t, b + "ffn_gate.weight", hidden, dim),
                            matrix(t, b + "ffn_up.weight", hidden, dim)};
        }
        refuseUnsupportedBiases(t, layers);
        boolean biased = t.has("blk.0.attn_q.bias") || t.has("blk.0.attn_k.bias") || t.has("blk.0.attn_v.bias");
        return new LlamaWeights(
                matrix(t, "token_embd.weight", c.vocabSize(), dim),
                vectors(layers, l -> norm(t, blk.apply(l) + "attn_norm.weight", dim)),
                matrices(layers, l -> qkv[l][0]),
                matrices(layers, l -> qkv[l][1]),
                matrices(layers, l -> qkv[l][2]),
                matrices(layers, l -> matrix(t, blk.apply(l) + "attn_output.weight", dim, qDim)),
                vectors(layers, l -> norm(t, blk.apply(l) + "ffn_norm.weight", dim)),
                matrices(layers, l -> gateUp[l][0]),
                matrices(layers, l -> matrix(t, blk.apply(l) + "ffn_down.weight", dim, hidden)),
                matrices(layers, l -> gateUp[l][1]),
                norm(t, "output_norm.weight", dim),
                matrix(t, c.tiedClassifier() ? "token_embd.weight" : "output.weight", c.vocabSize(), dim),
                biased ? vectors(layers, l -> vector(t, blk.apply(l) + "attn_q.bias", qDim)) : null,
                biased ? vectors(layers, l -> vector(t, blk.apply(l) + "attn_k.bias", kvDim)) : null,
                biased ? vectors(layers, l -> vector(t, blk.apply(l) + "attn_v.bias", kvDim)) : null,
                a.qkNorm() ? vectors(layers, l -> norm(t, blk.apply(l) + "attn_q_norm.weight", headSize)) : null,
                a.qkNorm() ? vectors(layers, l -> norm(t, blk.apply(l) + "attn_k_norm.weight", headSize)) : null,
                a.sandwichNorms() ? vectors(layers, l -> norm(t, blk.apply(l) + "post_attention_norm.weight", dim)) : null,
                a.sandwichNorms() ? vectors(layers, l -> norm(t, blk.apply(l) + "post_ffw_norm.weight", dim)) : null);
    }

    /** Biases the forward pass does not add: present, they would be dropped and the logits wrong. */
    private static void refuseUnsupportedBiases(Tensors t, int layers) {
        for (String name : new String[] {"token_embd.bias", "output_norm.bias", "output.bias"}) {
            refuseBias(t, name);
        }
        for (int l = 0; l < layers; l++) {
            for (String part : new String[] {"attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                    "ffn_down", "post_attention_norm", "post_ffw_norm"}) {
                refuseBias(t, "blk." + l + "." + part + ".bias");
            }
        }
    }

    private static void refuseBias(Tensors t, String name) {
        if (t.has(name)) {
            throw new InferenceException(t.where() + ": tensor " + name + " is a bias this engine does not compute; "
                    + "only the query, key and value projections may have biases");
        }
    }

    /** The type of the attention's query weights (the fused QKV where there is one). */
    static GgmlType queryType(Tensors t) {
        return t.type(t.has("blk.0.attn_qkv.weight") ? "blk.0.attn_qkv.weight" : "blk.0.attn_q.weight");
    }

    /**
     * A matrix of {@code cols} columns whose rows are the stacked blocks of {@code rows[i]}
     * rows each, cut into one view per block.
     */
    private static FloatTensor[] rowsOf(Tensors t, String name, int cols, int... rows) {
        long total = Arrays.stream(rows).asLongStream().sum();
        requireShape(t, name, total, cols);
        GgmlType type = t.type(name);
        MemorySegment data = t.data(name);
        var parts = new FloatTensor[rows.length];
        long row = 0;
        for (int i = 0; i < rows.length; i++) {
            long from = type.byteSize(row * cols);
            parts[i] = FloatTensor.of(type, data.asSlice(from, type.byteSize((long) rows[i] * cols)));
            row += rows[i];
        }
        return parts;
    }

    private static FloatTensor matrix(Tensors t, String name, int rows, int cols) {
        requireShape(t, name, rows, cols);
        return FloatTensor.of(t.type(name), t.data(name));
    }

    private static void requireShape(Tensors t, String name, long rows, int cols) {
        if (!t.has(name)) {
            throw new InferenceException(t.where() + ": tensor " + name + " is missing");
        }
        long[] shape = t.shape(name);
        if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
            throw new InferenceException(t.where() + ": tensor " + name + " has shape " + Arrays.toString(shape)
                    + " (rows first), expected [" + rows + ", " + cols + "]");
        }
    }

    private static float[] vector(Tensors t, String name, int size) {
        if (!t.has(name)) {
            throw new InferenceException(t.where() + ": tensor " + name + " is missing");
        }
        long[] shape = t.shape(name);
        if (shape.length != 1 || shape[0] != size) {
            throw new InferenceException(t.where() + ": tensor " + name + " has shape " + Arrays.toString(shape)
                    + ", expected [" + size + "]");
        }
        return FloatTensor.of(t.type(name), t.data(name)).toArray();
    }

    /** An RMSNorm weight as the model multiplies by it. */
    private static float[] norm(Tensors t, String name, int size) {
        float[] w = vector(t, name, size);
        float offset = t.normOffset();
        if (offset != 0f) {
            for (int i = 0; i < size; i++) {
                w[i] = offset + w[i];
            }
        }
        return w;
    }

    static int jsonInt(Path dir, JsonNode json, String key, int defaultValue) {
        JsonNode node = json.get(key);
        if (node == null || node.isNull()) {
            if (defaultValue >= 0) {
                return defaultValue;
            }
            throw new InferenceException(dir + "/config.json: " + key + " is missing");
        }
        if (!node.canConvertToExactIntegral() || !node.canConvertToInt()) {
            throw new InferenceException(dir + "/config.json: " + key + " is " + node + ", expected an integer");
        }
        return node.asInt();
    }

    /** One matrix per layer. */
    static FloatTensor[] matrices(int layers, IntFunction<FloatTensor> perLayer) {
        var result = new FloatTensor[layers];
        for (int l = 0; l < layers; l++) {
            result[l] = perLayer.apply(l);
        }
        return result;
    }

    /** One vector per layer. */
    static float[][] vectors(int layers, IntFunction<float[]> perLayer) {
        var result = new float[layers][];
        for (int l = 0; l < layers; l++) {
            result[l] = perLayer.apply(l);
        }
        return result;
    }
}
