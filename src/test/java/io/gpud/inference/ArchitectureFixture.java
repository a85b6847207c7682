package io.gpud.inference;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.model.GgmlType;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Small random models of every architecture, written both as GGUF (as llama.cpp's converters
 * lay them out) and as a Hugging Face directory (config.json and model.safetensors) holding
 * the same weights. The weights are drawn once in Hugging Face's layout; the GGUF writer
 * then does what the converters do: permutes Llama's query and key rows for RoPE on adjacent
 * pairs, stores Gemma's norms as 1 + w, writes Llama 3.1's RoPE scaling as per-pair
 * divisors. Phi-3's fused QKV and gate/up matrices are fused in both.
 */
public final class ArchitectureFixture {
    private static final JsonMapper JSON = new JsonMapper();

    /** The shape of a fixture model; {@code llama3} adds Llama 3.1 RoPE scaling to a llama. */
    public record Spec(String arch, int dim, int hidden, int layers, int heads, int kvHeads, int headSize, int vocab,
                       int ropeDims, int window, int pattern, float attnCap, float logitCap, boolean tied,
                       boolean llama3, float queryScalar) {

        /** The fixture of each family: a head size of its own where the family allows one, small windows. */
        public static Spec of(String arch) {
            return switch (arch) {
                case "llama" -> new Spec(arch, 64, 96, 2, 4, 2, 16, 80, 16, 0, 1, 0f, 0f, false, false, 16);
                case "llama3" -> new Spec("llama", 64, 96, 2, 4, 2, 16, 80, 16, 0, 1, 0f, 0f, false, true, 16);
                case "qwen2" -> new Spec(arch, 64, 96, 2, 4, 2, 16, 80, 16, 0, 1, 0f, 0f, true, false, 16);
                case "qwen3" -> new Spec(arch, 64, 96, 2, 4, 2, 24, 80, 24, 0, 1, 0f, 0f, false, false, 24);
                case "gemma2" -> new Spec(arch, 64, 96, 2, 4, 2, 32, 80, 32, 4, 2, 2f, 3f, true, false, 32);
                case "gemma3" -> new Spec(arch, 64, 96, 3, 4, 2, 32, 80, 32, 4, 3, 0f, 0f, true, false, 32);
                case "phi3" -> new Spec(arch, 64, 96, 2, 4, 4, 16, 80, 12, 0, 1, 0f, 0f, false, false, 16);
                default -> throw new IllegalArgumentException(arch);
            };
        }

        Spec withQueryScalar(float scalar) {
            return new Spec(arch, dim, hidden, layers, heads, kvHeads, headSize, vocab, ropeDims, window, pattern,
                    attnCap, logitCap, tied, llama3, scalar);
        }

        boolean gemma() {
            return arch.startsWith("gemma");
        }

        int qDim() {
            return heads * headSize;
        }

        int kvDim() {
            return kvHeads * headSize;
        }
    }

    static final int CONTEXT = 32;
    static final float THETA = 10000f;
    static final float GEMMA3_THETA = 1_000_000f;
    static final float GEMMA3_LINEAR_FACTOR = 8f;
    static final float EPS = 1e-5f;

    /** Weights in Hugging Face's layout, norms as the model multiplies by them, by GGUF name. */
    private final Map<String, float[]> weights = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>(); // rows first
    private final Spec spec;

    private ArchitectureFixture(Spec spec, long seed) {
        this.spec = spec;
        var random = new SplittableRandom(seed);
        int dim = spec.dim();
        float scale = (float) (1 / Math.sqrt(dim));
        // a tied classifier scores a token by its own embedding too: small embeddings keep the
        // layers' output in charge, so greedy decoding does not just repeat the last token
        put("token_embd.weight", gaussian(random, spec.vocab() * dim, spec.tied() ? 0.05f : 1f), spec.vocab(), dim);
        for (int l = 0; l < spec.layers(); l++) {
            String b = "blk." + l + ".";
            put(b + "attn_norm.weight", norm(random, dim), dim);
            put(b + "attn_q.weight", gaussian(random, spec.qDim() * dim, scale), spec.qDim(), dim);
            put(b + "attn_k.weight", gaussian(random, spec.kvDim() * dim, scale), spec.kvDim(), dim);
            put(b + "attn_v.weight", gaussian(random, spec.kvDim() * dim, scale), spec.kvDim(), dim);
            if (spec.arch().equals("qwen2")) {
                put(b + "attn_q.bias", gaussian(random, spec.qDim(), 0.5f), spec.qDim());
                put(b + "attn_k.bias", gaussian(random, spec.kvDim(), 0.5f), spec.kvDim());
                put(b + "attn_v.bias", gaussian(random, spec.kvDim(), 0.5f), spec.kvDim());
            }
            if (spec.arch().equals("qwen3") || spec.arch().equals("gemma3")) {
                put(b + "attn_q_norm.weight", norm(random, spec.headSize()), spec.headSize());
                put(b + "attn_k_norm.weight", norm(random, spec.headSize()), spec.headSize());
            }
            put(b + "attn_output.weight", gaussian(random, dim * spec.qDim(), (float) (1 / Math.sqrt(spec.qDim()))),
                    dim, spec.qDim());
            put(b + "ffn_norm.weight", norm(random, dim), dim);
            put(b + "ffn_gate.weight", gaussian(random, spec.hidden() * dim, scale), spec.hidden(), dim);
            put(b + "ffn_up.weight", gaussian(random, spec.hidden() * dim, scale), spec.hidden(), dim);
            put(b + "ffn_down.weight", gaussian(random, dim * spec.hidden(), (float) (1 / Math.sqrt(spec.hidden()))),
                    dim, spec.hidden());
            if (spec.gemma()) {
                put(b + "post_attention_norm.weight", norm(random, dim), dim);
                put(b + "post_ffw_norm.weight", norm(random, dim), dim);
            }
        }
        put("output_norm.weight", norm(random, dim), dim);
        if (!spec.tied()) {
            put("output.weight", gaussian(random, spec.vocab() * dim, 1f), spec.vocab(), dim);
        }
    }

    private void put(String name, float[] values, long... shape) {
        weights.put(name, values);
        shapes.put(name, shape);
    }

    /** Writes the GGUF of {@code spec}'s random model (matrices in {@code type}) to {@code file}. */
    public static Path writeGguf(Path file, Spec spec, GgmlType type, long seed) {
        new ArchitectureFixture(spec, seed).gguf(file, type);
        return file;
    }

    /** Writes the Hugging Face directory of the same model as {@link #writeGguf} with the same seed. */
    public static Path writeHuggingFace(Path dir, Spec spec, GgmlType dtype, long seed) {
        new ArchitectureFixture(spec, seed).huggingFace(dir, dtype);
        return dir;
    }

    private void gguf(Path file, GgmlType type) {
        String p = spec.arch() + ".";
        var w = new GgufWriter()
                .put("general.architecture", GgufValue.string(spec.arch()))
                .put("general.file_type", GgufValue.uint32(type == GgmlType.Q8_0 ? 7 : 0))
                .put("tokenizer.ggml.model", GgufValue.string("none")) // token ids only, for llama.cpp too
                .put(p + "vocab_size", GgufValue.uint32(spec.vocab()))
                .put(p + "context_length", GgufValue.uint32(CONTEXT))
                .put(p + "embedding_length", GgufValue.uint32(spec.dim()))
                .put(p + "feed_forward_length", GgufValue.uint32(spec.hidden()))
                .put(p + "block_count", GgufValue.uint32(spec.layers()))
                .put(p + "attention.head_count", GgufValue.uint32(spec.heads()))
                .put(p + "attention.head_count_kv", GgufValue.uint32(spec.kvHeads()))
                .put(p + "attention.key_length", GgufValue.uint32(spec.headSize()))
                .put(p + "attention.value_length", GgufValue.uint32(spec.headSize()))
                .put(p + "rope.freq_base", GgufValue.float32(spec.arch().equals("gemma3") ? GEMMA3_THETA : THETA))
                .put(p + "attention.layer_norm_rms_epsilon", GgufValue.float32(EPS));
        if (spec.ropeDims() != spec.headSize()) {
            w.put(p + "rope.dimension_count", GgufValue.uint32(spec.ropeDims()));
        }
        switch (spec.arch()) {
            case "gemma2" -> w.put(p + "attention.sliding_window", GgufValue.uint32(spec.window()))
                    .put(p + "attn_logit_softcapping", GgufValue.float32(spec.attnCap()))
                    .put(p + "final_logit_softcapping", GgufValue.float32(spec.logitCap()));
            case "gemma3" -> w.put(p + "attention.sliding_window", GgufValue.uint32(spec.window()))
                    .put(p + "attention.sliding_window_pattern", GgufValue.uint32(spec.pattern()))
                    .put(p + "rope.freq_base_swa", GgufValue.float32(THETA))
                    .put(p + "rope.scaling.type", GgufValue.string("linear"))
                    .put(p + "rope.scaling.factor", GgufValue.float32(GEMMA3_LINEAR_FACTOR));
            default -> {
            }
        }
        if (spec.llama3()) {
            float[] factors = llama3Factors();
            w.tensor("rope_freqs.weight", GgmlType.F32, new long[] {factors.length}, factors);
        }
        boolean phi3 = spec.arch().equals("phi3");
        for (var e : weights.entrySet()) {
            String name = e.getKey();
            float[] values = e.getValue();
            long[] shape = shapes.get(name);
            if (phi3 && (name.endsWith("attn_k.weight") || name.endsWith("attn_v.weight")
                    || name.endsWith("ffn_gate.weight"))) {
                continue; // written fused with attn_q and ffn_up
            }
            if (phi3 && name.endsWith("attn_q.weight")) {
                String b = name.substring(0, name.length() - "attn_q.weight".length());
                values = concat(values, weights.get(b + "attn_k.weight"), weights.get(b + "attn_v.weight"));
                name = b + "attn_qkv.weight";
                shape = new long[] {spec.qDim() + 2L * spec.kvDim(), spec.dim()};
            } else if (phi3 && name.endsWith("ffn_up.weight")) {
                String b = name.substring(0, name.length() - "ffn_up.weight".length());
                values = concat(weights.get(b + "ffn_gate.weight"), values);
                shape = new long[] {2L * spec.hidden(), spec.dim()};
            } else if (spec.arch().equals("llama") && name.endsWith("attn_q.weight")) {
                values = permute(values, spec.heads(), spec.headSize(), spec.dim());
            } else if (spec.arch().equals("llama") && name.endsWith("attn_k.weight")) {
                values = permute(values, spec.kvHeads(), spec.headSize(), spec.dim());
            }
            if (shape.length == 1) {
                w.tensor(name, GgmlType.F32, shape, values);
            } else {
                w.tensor(name, type, new long[] {shape[1], shape[0]}, values);
            }
        }
        w.write(file);
    }

    private void huggingFace(Path dir, GgmlType dtype) {
        var tensors = new LinkedHashMap<String, float[]>();
        var hfShapes = new LinkedHashMap<String, long[]>();
        boolean phi3 = spec.arch().equals("phi3");
        for (var e : weights.entrySet()) {
            String name = e.getKey();
            float[] values = e.getValue();
            long[] shape = shapes.get(name);
            if (phi3 && (name.endsWith("attn_k.weight") || name.endsWith("attn_v.weight")
                    || name.endsWith("ffn_gate.weight"))) {
                continue;
            }
            if (phi3 && name.endsWith("attn_q.weight")) {
                String b = name.substring(0, name.length() - "attn_q.weight".length());
                values = concat(values, weights.get(b + "attn_k.weight"), weights.get(b + "attn_v.weight"));
                name = b + "attn_qkv.weight";
                shape = new long[] {spec.qDim() + 2L * spec.kvDim(), spec.dim()};
            } else if (phi3 && name.endsWith("ffn_up.weight")) {
                String b = name.substring(0, name.length() - "ffn_up.weight".length());
                values = concat(weights.get(b + "ffn_gate.weight"), values);
                shape = new long[] {2L * spec.hidden(), spec.dim()};
            }
            if (spec.gemma() && name.endsWith("norm.weight")) {
                values = values.clone();
                for (int i = 0; i < values.length; i++) {
                    values[i] -= 1f; // Gemma's checkpoints hold w, the model multiplies by 1 + w
                }
            }
            tensors.put(hfName(name), values);
            hfShapes.put(hfName(name), shape);
        }
        ObjectNode config = JSON.createObjectNode();
        String modelType = spec.arch();
        config.put("model_type", modelType);
        config.putArray("architectures").add(switch (modelType) {
            case "llama" -> "LlamaForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "gemma2" -> "Gemma2ForCausalLM";
            case "gemma3" -> "Gemma3ForCausalLM";
            default -> "Phi3ForCausalLM";
        });
        config.put("hidden_size", spec.dim());
        config.put("intermediate_size", spec.hidden());
        config.put("num_hidden_layers", spec.layers());
        config.put("num_attention_heads", spec.heads());
        config.put("num_key_value_heads", spec.kvHeads());
        config.put("head_dim", spec.headSize());
        config.put("vocab_size", spec.vocab());
        config.put("max_position_embeddings", CONTEXT);
        config.put("rms_norm_eps", EPS);
        config.put("rope_theta", spec.arch().equals("gemma3") ? GEMMA3_THETA : THETA);
        config.put("tie_word_embeddings", spec.tied());
        if (spec.ropeDims() != spec.headSize()) {
            config.put("partial_rotary_factor", (double) spec.ropeDims() * spec.heads() / spec.dim());
        }
        if (spec.gemma()) {
            config.put("query_pre_attn_scalar", spec.queryScalar());
            config.put("sliding_window", spec.window());
        }
        if (spec.arch().equals("gemma2")) {
            config.put("attn_logit_softcapping", spec.attnCap());
            config.put("final_logit_softcapping", spec.logitCap());
        }
        if (spec.arch().equals("gemma3")) {
            config.put("sliding_window_pattern", spec.pattern());
            config.put("rope_local_base_freq", THETA);
            config.putObject("rope_scaling").put("rope_type", "linear").put("factor", GEMMA3_LINEAR_FACTOR);
        }
        if (spec.llama3()) {
            config.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                    .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
        }
        try {
            Files.createDirectories(dir);
            JSON.writeValue(dir.resolve("config.json").toFile(), config);
            SafetensorsFixture.write(dir.resolve("model.safetensors"), tensors, hfShapes, dtype);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Llama 3.1's divisors for original context 64, factor 8, low/high frequency factors 1
     * and 4, written out as the GGUF converter computes them.
     */
    private float[] llama3Factors() {
        int n = spec.headSize() / 2;
        float[] factors = new float[n];
        for (int i = 0; i < n; i++) {
            double wavelength = 2 * Math.PI * Math.pow(THETA, 2.0 * i / spec.headSize());
            if (wavelength < 64 / 4.0) {
                factors[i] = 1f;
            } else if (wavelength > 64 / 1.0) {
                factors[i] = 8f;
            } else {
                double smooth = (64 / wavelength - 1) / (4 - 1);
                factors[i] = (float) (1 / ((1 - smooth) / 8 + smooth));
            }
        }
        return factors;
    }

    private String hfName(String gguf) {
        if (!gguf.startsWith("blk.")) {
            return switch (gguf) {
                case "token_embd.weight" -> "model.embed_tokens.weight";
                case "output_norm.weight" -> "model.norm.weight";
                default -> "lm_head.weight";
            };
        }
        int dot = gguf.indexOf('.', 4);
        String layer = "model.layers." + gguf.substring(4, dot) + ".";
        return layer + switch (gguf.substring(dot + 1)) {
            case "attn_norm.weight" -> "input_layernorm.weight";
            case "attn_q.weight" -> "self_attn.q_proj.weight";
            case "attn_k.weight" -> "self_attn.k_proj.weight";
            case "attn_v.weight" -> "self_attn.v_proj.weight";
            case "attn_q.bias" -> "self_attn.q_proj.bias";
            case "attn_k.bias" -> "self_attn.k_proj.bias";
            case "attn_v.bias" -> "self_attn.v_proj.bias";
            case "attn_qkv.weight" -> "self_attn.qkv_proj.weight";
            case "attn_q_norm.weight" -> "self_attn.q_norm.weight";
            case "attn_k_norm.weight" -> "self_attn.k_norm.weight";
            case "attn_output.weight" -> "self_attn.o_proj.weight";
            case "post_attention_norm.weight" -> "post_attention_layernorm.weight";
            case "ffn_norm.weight" -> spec.gemma() ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight";
            case "post_ffw_norm.weight" -> "post_feedforward_layernorm.weight";
            case "ffn_gate.weight" -> "mlp.gate_proj.weight";
            case "ffn_up.weight" -> spec.arch().equals("phi3") ? "mlp.gate_up_proj.weight" : "mlp.up_proj.weight";
            case "ffn_down.weight" -> "mlp.down_proj.weight";
            default -> throw new IllegalArgumentException(gguf);
        };
    }

    /** GGUF llama row (head, 2j + k) holds Hugging Face row (head, k × headSize/2 + j). */
    private static float[] permute(float[] rows, int heads, int headSize, int cols) {
        float[] out = new float[rows.length];
        int half = headSize / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                for (int k = 0; k < 2; k++) {
                    System.arraycopy(rows, (h * headSize + k * half + j) * cols, out, (h * headSize + 2 * j + k) * cols,
                            cols);
                }
            }
        }
        return out;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }

    private static float[] norm(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = 0.5f + (float) random.nextDouble();
        }
        return v;
    }
}
