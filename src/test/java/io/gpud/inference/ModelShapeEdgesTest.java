package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufTensor;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hyperparameters at the edges of what a model file may say: sizes whose products overflow,
 * a context far longer than any KV cache budget, keys a Hugging Face config leaves to its
 * class, biases the engine does not compute, and sliding-window patterns as llama.cpp reads them.
 */
class ModelShapeEdgesTest {
    private static final long SEED = 11;
    private static final int POSITIONS = 6;

    @TempDir
    Path dir;

    /**
     * 65536 heads of 65537 floats are 2^32 + 65536 floats a row, which an int product wraps to
     * 65536: tensors of 65536 rows would then pass every shape check and the forward pass fail.
     */
    @Test
    void headsTimesHeadSizeBeyondAnIntIsRefusedAtLoad() {
        int dim = 8;
        int rows = 65536;
        var w = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("tokenizer.ggml.model", GgufValue.string("none"))
                .put("llama.context_length", GgufValue.uint32(16))
                .put("llama.embedding_length", GgufValue.uint32(dim))
                .put("llama.feed_forward_length", GgufValue.uint32(dim))
                .put("llama.block_count", GgufValue.uint32(1))
                .put("llama.attention.head_count", GgufValue.uint32(65536))
                .put("llama.attention.head_count_kv", GgufValue.uint32(65536))
                .put("llama.attention.key_length", GgufValue.uint32(65537))
                .put("llama.attention.value_length", GgufValue.uint32(65537))
                .put("llama.rope.dimension_count", GgufValue.uint32(2));
        w.tensor("token_embd.weight", GgmlType.F32, new long[] {dim, 4}, new float[dim * 4]);
        w.tensor("blk.0.attn_norm.weight", GgmlType.F32, new long[] {dim}, new float[dim]);
        for (String m : new String[] {"attn_q", "attn_k", "attn_v"}) {
            w.tensor("blk.0." + m + ".weight", GgmlType.F32, new long[] {dim, rows}, new float[dim * rows]);
        }
        w.tensor("blk.0.attn_output.weight", GgmlType.F32, new long[] {rows, dim}, new float[dim * rows]);
        w.tensor("blk.0.ffn_norm.weight", GgmlType.F32, new long[] {dim}, new float[dim]);
        for (String m : new String[] {"ffn_gate", "ffn_up", "ffn_down"}) {
            w.tensor("blk.0." + m + ".weight", GgmlType.F32, new long[] {dim, dim}, new float[dim * dim]);
        }
        w.tensor("output_norm.weight", GgmlType.F32, new long[] {dim}, new float[dim]);
        Path file = dir.resolve("wrap.gguf");
        w.write(file);
        var e = assertThrows(InferenceException.class, () -> LlamaLoader.load(file, null, "wrap", 0).close());
        assertTrue(e.getMessage().contains("heads × headSize was 65536 × 65537"), e.getMessage());
    }

    /** A KV cache of the whole context would be more bytes than a long counts. */
    @Test
    void aContextWhoseKvCacheOverflowsALongIsRefused() {
        var e = assertThrows(InferenceException.class, () -> new LlamaConfig(Architecture.LLAMA, 64, 96, 1 << 30, 4, 4,
                1 << 20, 80, Integer.MAX_VALUE, 10000f, 1e-5f, true, LlamaConfig.RopeLayout.HALVES,
                LlamaConfig.Rotary.plain(1 << 20, 10000f), LlamaConfig.Attention.plain(1 << 20), 0f));
        assertTrue(e.getMessage().contains("contextLength " + Integer.MAX_VALUE), e.getMessage());
    }

    /**
     * A context of 2^31 − 1 positions: nothing is sized by it up front, so a workspace and a
     * small cache run the model, with the logits of the same weights under a short context.
     */
    @Test
    void aHugeContextAllocatesNothingByItsLength() {
        Path small = ArchitectureFixture.writeGguf(dir.resolve("small.gguf"), ArchitectureFixture.Spec.of("qwen3"),
                GgmlType.F32, SEED);
        Path huge = rewrite(small, dir.resolve("huge.gguf"),
                Map.of("qwen3.context_length", GgufValue.uint32(Integer.MAX_VALUE)), Map.of());
        try (LoadedModel a = LlamaLoader.load(small, null, "small", 0); LoadedModel b = LlamaLoader.load(huge, null, "huge", 0)) {
            assertEquals(Integer.MAX_VALUE, b.llama().config().contextLength());
            Llama.Workspace wa = a.llama().new Workspace(1, 1, Parallel.single());
            Llama.Workspace wb = b.llama().new Workspace(1, 1, Parallel.single());
            try (Llama.KvCache ca = a.llama().new KvCache(POSITIONS); Llama.KvCache cb = b.llama().new KvCache(POSITIONS)) {
                for (int pos = 0; pos < POSITIONS; pos++) {
                    int[] token = {(5 + 13 * pos) % 80};
                    a.llama().forward(wa, 1, token, new int[] {pos}, new Llama.KvCache[] {ca}, new int[] {0}, 1);
                    b.llama().forward(wb, 1, token, new int[] {pos}, new Llama.KvCache[] {cb}, new int[] {0}, 1);
                    assertArrayEquals(wa.logits[0], wb.logits[0], "position " + pos);
                }
            }
        }
    }

    /**
     * Gemma 3's multimodal config.json leaves heads, key/value heads, head size, context and
     * query scalar to Gemma3TextConfig's defaults (8, 4, 256, 131072, 256).
     */
    @Test
    void gemma3TextConfigTakesTheClassDefaultsOfWhatItLeavesOut() throws Exception {
        var spec = new ArchitectureFixture.Spec("gemma3", 64, 96, 3, 8, 4, 256, 80, 256, 4, 3, 0f, 0f, true, false, 256);
        Path hf = ArchitectureFixture.writeHuggingFace(dir.resolve("hf"), spec, GgmlType.F32, SEED);
        var json = new JsonMapper();
        var text = (ObjectNode) json.readTree(hf.resolve("config.json").toFile());
        for (String key : new String[] {"num_attention_heads", "num_key_value_heads", "head_dim",
                "max_position_embeddings", "query_pre_attn_scalar"}) {
            text.remove(key);
        }
        var root = json.createObjectNode().put("model_type", "gemma3");
        root.putArray("architectures").add("Gemma3ForConditionalGeneration");
        root.set("text_config", text);
        json.writeValue(hf.resolve("config.json").toFile(), root);
        try (LoadedModel model = LlamaLoader.load(hf, null, "g", 0)) {
            LlamaConfig c = model.llama().config();
            assertEquals(8, c.heads());
            assertEquals(4, c.kvHeads());
            assertEquals(256, c.headSize());
            assertEquals(256, c.rotary().dims());
            assertEquals(131072, c.contextLength());
            assertEquals(256f, c.attention().queryScalar());
        }
    }

    /** transformers turns int(head_dim × partial_rotary_factor) elements of each head. */
    @Test
    void partialRotaryDimsArePartOfTheHeadSize() {
        var json = new JsonMapper().createObjectNode().put("model_type", "phi3").put("hidden_size", 64)
                .put("num_attention_heads", 4).put("head_dim", 32).put("partial_rotary_factor", 0.5)
                .put("intermediate_size", 96).put("num_hidden_layers", 1).put("vocab_size", 80)
                .put("max_position_embeddings", 32);
        assertEquals(16, ArchitectureLoader.hfConfig(dir, json, true).rotary().dims());
    }

    /** llama.cpp loads an optional bias on the attention output, which this engine would drop. */
    @Test
    void aBiasTheEngineDoesNotComputeIsRefusedByName() {
        Path plain = ArchitectureFixture.writeGguf(dir.resolve("plain.gguf"), ArchitectureFixture.Spec.of("llama"),
                GgmlType.F32, SEED);
        Path biased = rewrite(plain, dir.resolve("biased.gguf"), Map.of(),
                Map.of("blk.1.attn_output.bias", new float[64]));
        var e = assertThrows(InferenceException.class, () -> LlamaLoader.load(biased, null, "b", 0).close());
        assertTrue(e.getMessage().contains("blk.1.attn_output.bias"), e.getMessage());
    }

    /** GGUF's sliding_window_pattern as llama.cpp reads it: 0 every layer slides, 1 none does. */
    @Test
    void slidingWindowPatternZeroSlidesEveryLayerAndOneNone() {
        Path gemma3 = ArchitectureFixture.writeGguf(dir.resolve("g.gguf"), ArchitectureFixture.Spec.of("gemma3"),
                GgmlType.F32, SEED);
        Path every = rewrite(gemma3, dir.resolve("every.gguf"),
                Map.of("gemma3.attention.sliding_window_pattern", GgufValue.uint32(0)), Map.of());
        Path none = rewrite(gemma3, dir.resolve("none.gguf"),
                Map.of("gemma3.attention.sliding_window_pattern", GgufValue.uint32(1)), Map.of());
        try (LoadedModel e = LlamaLoader.load(every, null, "e", 0); LoadedModel n = LlamaLoader.load(none, null, "n", 0)) {
            for (int l = 0; l < 3; l++) {
                assertTrue(e.llama().config().sliding(l), "layer " + l);
                assertFalse(n.llama().config().sliding(l), "layer " + l);
            }
        }
    }

    /** Hugging Face's sliding_window_pattern 1: (l + 1) mod 1 is 0 for every layer, so none slides. */
    @Test
    void huggingFaceSlidingWindowPatternOneSlidesNoLayer() throws Exception {
        Path hf = ArchitectureFixture.writeHuggingFace(dir.resolve("hf1"), ArchitectureFixture.Spec.of("gemma3"),
                GgmlType.F32, SEED);
        var json = new JsonMapper();
        var config = (ObjectNode) json.readTree(hf.resolve("config.json").toFile());
        config.put("sliding_window_pattern", 1);
        LlamaConfig c = ArchitectureLoader.hfConfig(hf, config, false);
        for (int l = 0; l < 3; l++) {
            assertFalse(c.sliding(l), "layer " + l);
        }
    }

    /** {@code from} with metadata replaced by {@code metadata} and the F32 vectors {@code extra} added. */
    private static Path rewrite(Path from, Path to, Map<String, GgufValue> metadata, Map<String, float[]> extra) {
        try (GgufFile gguf = GgufFile.open(from)) {
            var w = new GgufWriter();
            gguf.metadata().forEach((key, value) -> w.put(key, metadata.getOrDefault(key, value)));
            for (GgufTensor t : gguf.tensors().values()) {
                if (t.type() != GgmlType.F32) {
                    throw new IllegalArgumentException(t.name() + " is " + t.type());
                }
                w.tensor(t.name(), t.type(), t.dims(), t.data().toArray(ValueLayout.JAVA_FLOAT));
            }
            extra.forEach((name, values) -> w.tensor(name, GgmlType.F32, new long[] {values.length}, values));
            w.write(to);
        }
        return to;
    }
}
