package io.gpud.inference;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufTensor;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns an F32 GGUF llama model into a Hugging Face model directory: config.json and
 * safetensors (one file, or two shards with an index) in F32, F16 or BF16, tensors renamed,
 * and the query and key rows put back in the order Hugging Face trains them in (RoPE on
 * halves), the inverse of the permutation GGUF converters apply.
 */
final class SafetensorsFixture {
    private static final JsonMapper JSON = new JsonMapper();

    private SafetensorsFixture() {
    }

    static Path convert(Path gguf, Path dir, GgmlType dtype, boolean sharded) {
        try (GgufFile in = GgufFile.open(gguf)) {
            int dim = in.getInt("llama.embedding_length");
            int heads = in.getInt("llama.attention.head_count");
            int kvHeads = in.getInt("llama.attention.head_count_kv", heads);
            int layers = in.getInt("llama.block_count");
            int headSize = dim / heads;
            var tensors = new LinkedHashMap<String, float[]>();
            var shapes = new LinkedHashMap<String, long[]>();
            for (GgufTensor t : in.tensors().values()) {
                if (t.type() != GgmlType.F32) {
                    throw new IllegalArgumentException("the fixture converts F32 models only");
                }
                float[] values = t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                long[] dims = t.dims();
                long[] shape = dims.length == 1 ? new long[] {dims[0]} : new long[] {dims[1], dims[0]};
                String name = hfName(t.name());
                if (t.name().endsWith("attn_q.weight")) {
                    values = unpermute(values, heads, headSize, dim);
                } else if (t.name().endsWith("attn_k.weight")) {
                    values = unpermute(values, kvHeads, headSize, dim);
                }
                tensors.put(name, values);
                shapes.put(name, shape);
            }
            Files.createDirectories(dir);
            ObjectNode config = JSON.createObjectNode();
            config.putArray("architectures").add("LlamaForCausalLM");
            config.put("hidden_size", dim);
            config.put("intermediate_size", in.getInt("llama.feed_forward_length"));
            config.put("num_hidden_layers", layers);
            config.put("num_attention_heads", heads);
            config.put("num_key_value_heads", kvHeads);
            config.put("vocab_size", shapes.get("model.embed_tokens.weight")[0]);
            config.put("max_position_embeddings", in.getInt("llama.context_length"));
            config.put("rope_theta", in.getFloat("llama.rope.freq_base", 10000f));
            config.put("rms_norm_eps", in.getFloat("llama.attention.layer_norm_rms_epsilon", 1e-5f));
            config.put("tie_word_embeddings", !tensors.containsKey("lm_head.weight"));
            JSON.writeValue(dir.resolve("config.json").toFile(), config);
            if (!sharded) {
                write(dir.resolve("model.safetensors"), tensors, shapes, dtype);
                return dir;
            }
            var first = new LinkedHashMap<String, float[]>();
            var second = new LinkedHashMap<String, float[]>();
            ObjectNode index = JSON.createObjectNode();
            ObjectNode weightMap = index.putObject("weight_map");
            int i = 0;
            for (var entry : tensors.entrySet()) {
                boolean inFirst = i++ < tensors.size() / 2;
                (inFirst ? first : second).put(entry.getKey(), entry.getValue());
                weightMap.put(entry.getKey(), inFirst ? "model-00001-of-00002.safetensors"
                        : "model-00002-of-00002.safetensors");
            }
            write(dir.resolve("model-00001-of-00002.safetensors"), first, shapes, dtype);
            write(dir.resolve("model-00002-of-00002.safetensors"), second, shapes, dtype);
            JSON.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** GGUF row (head, 2j + k) came from Hugging Face row (head, k × headSize/2 + j). */
    private static float[] unpermute(float[] rows, int heads, int headSize, int cols) {
        float[] out = new float[rows.length];
        int half = headSize / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                for (int k = 0; k < 2; k++) {
                    int from = h * headSize + 2 * j + k;
                    int to = h * headSize + k * half + j;
                    System.arraycopy(rows, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }

    private static String hfName(String gguf) {
        if (gguf.startsWith("blk.")) {
            int dot = gguf.indexOf('.', 4);
            String layer = "model.layers." + gguf.substring(4, dot) + ".";
            return layer + switch (gguf.substring(dot + 1)) {
                case "attn_norm.weight" -> "input_layernorm.weight";
                case "attn_q.weight" -> "self_attn.q_proj.weight";
                case "attn_k.weight" -> "self_attn.k_proj.weight";
                case "attn_v.weight" -> "self_attn.v_proj.weight";
                case "attn_output.weight" -> "self_attn.o_proj.weight";
                case "ffn_norm.weight" -> "post_attention_layernorm.weight";
                case "ffn_gate.weight" -> "mlp.gate_proj.weight";
                case "ffn_up.weight" -> "mlp.up_proj.weight";
                case "ffn_down.weight" -> "mlp.down_proj.weight";
                default -> throw new IllegalArgumentException(gguf);
            };
        }
        return switch (gguf) {
            case "token_embd.weight" -> "model.embed_tokens.weight";
            case "output_norm.weight" -> "model.norm.weight";
            case "output.weight" -> "lm_head.weight";
            default -> throw new IllegalArgumentException(gguf);
        };
    }

    /** One safetensors file; norms stay F32 as they often do, matrices get {@code dtype}. */
    static void write(Path file, Map<String, float[]> tensors, Map<String, long[]> shapes, GgmlType dtype)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        var types = new LinkedHashMap<String, GgmlType>();
        for (var entry : tensors.entrySet()) {
            GgmlType type = shapes.get(entry.getKey()).length == 1 ? GgmlType.F32 : dtype;
            types.put(entry.getKey(), type);
            long bytes = (long) entry.getValue().length * (type == GgmlType.F32 ? 4 : 2);
            ObjectNode info = header.putObject(entry.getKey());
            info.put("dtype", type.name());
            var shape = info.putArray("shape");
            for (long d : shapes.get(entry.getKey())) {
                shape.add(d);
            }
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            out.write(json);
            for (var entry : tensors.entrySet()) {
                GgmlType type = types.get(entry.getKey());
                float[] values = entry.getValue();
                var data = ByteBuffer.allocate(values.length * (type == GgmlType.F32 ? 4 : 2))
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (float v : values) {
                    switch (type) {
                        case F32 -> data.putFloat(v);
                        case F16 -> data.putShort(Float.floatToFloat16(v));
                        default -> data.putShort((short) (Float.floatToRawIntBits(v) + 0x8000 >>> 16));
                    }
                }
                out.write(data.array());
            }
        }
    }
}
