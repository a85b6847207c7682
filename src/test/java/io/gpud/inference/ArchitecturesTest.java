package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.model.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every architecture on small random models: the float32 forward pass against the float64
 * one of {@link Float64Transformer}, a Hugging Face directory against the GGUF of the same
 * weights, and a batch of rows against the same rows one by one. The models run 14
 * positions, past the fixtures' sliding windows of 4.
 */
class ArchitecturesTest {
    private static final int POSITIONS = 14;
    private static final long SEED = 7;

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"llama, F32", "llama3, F32", "qwen2, F32", "qwen3, F32", "gemma2, F32", "gemma3, F32", "phi3, F32",
            "llama, Q8_0", "qwen2, Q8_0", "qwen3, Q8_0", "gemma2, Q8_0", "gemma3, Q8_0", "phi3, Q8_0"})
    void ggufForwardMatchesFloat64Reference(String arch, GgmlType type) {
        Path file = ArchitectureFixture.writeGguf(dir.resolve(arch + ".gguf"), ArchitectureFixture.Spec.of(arch), type,
                SEED);
        try (LoadedModel model = LlamaLoader.load(file, null, arch, 0)) {
            assertMatchesReference(model);
        }
    }

    @Test
    void huggingFaceGemmaWithItsOwnQueryScalarMatchesFloat64Reference() {
        var spec = ArchitectureFixture.Spec.of("gemma2").withQueryScalar(20f);
        Path hf = ArchitectureFixture.writeHuggingFace(dir.resolve("hf"), spec, GgmlType.F32, SEED);
        try (LoadedModel model = LlamaLoader.load(hf, null, "gemma2", 0)) {
            assertEquals(20f, model.llama().config().attention().queryScalar());
            assertMatchesReference(model);
        }
    }

    /** What each family's file says arrives in the config, so the reference is not fed a misreading. */
    @Test
    void hyperparametersAreReadAsWritten() {
        LlamaConfig qwen3 = config("qwen3");
        assertEquals(Architecture.QWEN3, qwen3.architecture());
        assertEquals(24, qwen3.headSize());
        assertEquals(96, qwen3.qDim());
        assertEquals(LlamaConfig.RopeLayout.HALVES, qwen3.rope());
        assertEquals(LlamaConfig.RopeLayout.ADJACENT_PAIRS, config("llama").rope());

        LlamaConfig gemma2 = config("gemma2");
        assertEquals(new LlamaConfig.Attention(32, 2f, 4, 2), gemma2.attention());
        assertEquals(3f, gemma2.logitSoftCap());
        assertTrue(gemma2.sliding(0) && !gemma2.sliding(1));
        assertTrue(gemma2.tiedClassifier());

        LlamaConfig gemma3 = config("gemma3");
        assertEquals(new LlamaConfig.Attention(32, 0f, 4, 3), gemma3.attention());
        assertTrue(gemma3.sliding(0) && gemma3.sliding(1) && !gemma3.sliding(2));
        assertEquals(ArchitectureFixture.GEMMA3_THETA, gemma3.ropeTheta());
        assertEquals(ArchitectureFixture.THETA, gemma3.rotary().slidingTheta());
        assertEquals(1 / ArchitectureFixture.GEMMA3_LINEAR_FACTOR, gemma3.rotary().scale());

        LlamaConfig phi3 = config("phi3");
        assertEquals(12, phi3.rotary().dims());
        assertEquals(16, phi3.headSize());

        LlamaConfig llama3 = config("llama3");
        float[] factors = llama3.rotary().factors();
        assertNotNull(factors);
        assertEquals(1f, factors[0]);
        assertEquals(8f, factors[7]);
        assertTrue(factors[1] > 1f && factors[1] < 8f, "pair 1 blends: " + factors[1]);
        assertNull(config("llama").rotary().factors());
    }

    /** The same weights as GGUF (as llama.cpp's converters write them) and as Hugging Face give the same logits. */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama3", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"})
    void huggingFaceAndGgufOfTheSameWeightsAgree(String arch) {
        var spec = ArchitectureFixture.Spec.of(arch);
        Path gguf = ArchitectureFixture.writeGguf(dir.resolve(arch + ".gguf"), spec, GgmlType.F32, SEED);
        Path hf = ArchitectureFixture.writeHuggingFace(dir.resolve("hf"), spec, GgmlType.F32, SEED);
        try (LoadedModel a = LlamaLoader.load(gguf, null, "gguf", 0); LoadedModel b = LlamaLoader.load(hf, null, "hf", 0);
             Llama.State sa = a.llama().newState(POSITIONS); Llama.State sb = b.llama().newState(POSITIONS)) {
            assertEquals(a.info().architecture(), b.info().architecture());
            for (int pos = 0; pos < POSITIONS; pos++) {
                int token = token(pos, spec.vocab());
                float[] la = a.llama().forward(sa, token, pos);
                float[] lb = b.llama().forward(sb, token, pos);
                for (int i = 0; i < la.length; i++) {
                    assertEquals(la[i], lb[i], 1e-4 * Math.max(1, Math.abs(la[i])), arch + " logit " + i + " at " + pos);
                }
            }
        }
    }

    /**
     * Gemma 3's newer config.json: the text model's settings under {@code text_config}, RoPE
     * per layer kind in {@code rope_parameters}, {@code layer_types} instead of a pattern.
     * It reads as the older form of the same model does.
     */
    @Test
    void gemma3sNewerConfigFormReadsAsTheOlderOne() throws Exception {
        Path hf = ArchitectureFixture.writeHuggingFace(dir.resolve("hf"), ArchitectureFixture.Spec.of("gemma3"),
                GgmlType.F32, SEED);
        LlamaConfig older;
        try (LoadedModel model = LlamaLoader.load(hf, null, "old", 0)) {
            older = model.llama().config();
        }
        var json = new JsonMapper();
        var text = (ObjectNode) json.readTree(hf.resolve("config.json").toFile());
        double theta = text.remove("rope_theta").asDouble();
        double localTheta = text.remove("rope_local_base_freq").asDouble();
        double factor = text.remove("rope_scaling").path("factor").asDouble();
        text.remove("sliding_window_pattern");
        var rope = text.putObject("rope_parameters");
        rope.putObject("full_attention").put("rope_theta", theta).put("rope_type", "linear").put("factor", factor);
        rope.putObject("sliding_attention").put("rope_theta", localTheta).put("rope_type", "default");
        text.putArray("layer_types").add("sliding_attention").add("sliding_attention").add("full_attention");
        var root = json.createObjectNode().put("model_type", "gemma3");
        root.putArray("architectures").add("Gemma3ForConditionalGeneration");
        root.set("text_config", text);
        json.writeValue(hf.resolve("config.json").toFile(), root);
        try (LoadedModel model = LlamaLoader.load(hf, null, "new", 0)) {
            LlamaConfig newer = model.llama().config();
            assertEquals(older.ropeTheta(), newer.ropeTheta());
            assertEquals(older.rotary().slidingTheta(), newer.rotary().slidingTheta());
            assertEquals(older.rotary().scale(), newer.rotary().scale());
            assertEquals(older.attention(), newer.attention());
        }
    }

    /**
     * A batch of rows on several threads gives, bit for bit, the logits of the rows run one by
     * one. F32 weights: the block kernels' lane sums ({@code reduceLanes}) may be added in an
     * order that changes once the JIT compiles them, so before and after warm-up can differ.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"})
    void aBatchComputesEachRowAsIfAlone(String arch) {
        var spec = ArchitectureFixture.Spec.of(arch);
        Path gguf = ArchitectureFixture.writeGguf(dir.resolve(arch + ".gguf"), spec, GgmlType.F32, SEED);
        try (LoadedModel model = LlamaLoader.load(gguf, null, arch, 0); Parallel threads = new Parallel(2)) {
            Llama llama = model.llama();
            int[] tokens = new int[POSITIONS];
            int[] positions = new int[POSITIONS];
            int[] logitRows = new int[POSITIONS];
            for (int p = 0; p < POSITIONS; p++) {
                tokens[p] = token(p, spec.vocab());
                positions[p] = p;
                logitRows[p] = p;
            }
            Llama.Workspace ws = llama.new Workspace(POSITIONS, POSITIONS, threads);
            try (Llama.KvCache cache = llama.new KvCache(POSITIONS); Llama.State state = llama.newState(POSITIONS)) {
                var caches = new Llama.KvCache[POSITIONS];
                java.util.Arrays.fill(caches, cache);
                llama.forward(ws, POSITIONS, tokens, positions, caches, logitRows, POSITIONS);
                for (int p = 0; p < POSITIONS; p++) {
                    assertArrayEquals(llama.forward(state, tokens[p], p), ws.logits[p], arch + " position " + p);
                }
            }
        }
    }

    @Test
    void modelInfoNamesTheArchitectureAndTheFileType() {
        Path gguf = ArchitectureFixture.writeGguf(dir.resolve("q.gguf"), ArchitectureFixture.Spec.of("qwen3"),
                GgmlType.Q8_0, SEED);
        try (LoadedModel model = LlamaLoader.load(gguf, null, "q", 0)) {
            assertEquals("qwen3", model.info().architecture());
            assertEquals("Q8_0", model.info().weightType());
        }
        Path hf = ArchitectureFixture.writeHuggingFace(dir.resolve("hf"), ArchitectureFixture.Spec.of("phi3"),
                GgmlType.BF16, SEED);
        try (LoadedModel model = LlamaLoader.load(hf, null, "p", 0)) {
            assertEquals("phi3", model.info().architecture());
            assertEquals("BF16", model.info().weightType());
        }
    }

    @Test
    void unknownArchitecturesAndScalingsAreRefusedByName() throws Exception {
        Path hf = ArchitectureFixture.writeHuggingFace(dir.resolve("hf"), ArchitectureFixture.Spec.of("llama"),
                GgmlType.F32, SEED);
        Path config = hf.resolve("config.json");
        String json = Files.readString(config);
        Files.writeString(config, json.replace("\"model_type\":\"llama\"", "\"model_type\":\"falcon\""));
        var e = assertThrows(InferenceException.class, () -> LlamaLoader.load(hf, null, "x", 0));
        assertTrue(e.getMessage().contains("falcon") && e.getMessage().contains("qwen3"), e.getMessage());
        Files.writeString(config, json.replace("\"tie_word_embeddings\"",
                "\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4},\"tie_word_embeddings\""));
        e = assertThrows(InferenceException.class, () -> LlamaLoader.load(hf, null, "x", 0));
        assertTrue(e.getMessage().contains("yarn"), e.getMessage());
    }

    @Test
    void aModelWithoutTheTensorsItsArchitectureNeedsIsRefused() {
        LlamaConfig qwen3 = config("qwen3");
        Path file = ArchitectureFixture.writeGguf(dir.resolve("l.gguf"), ArchitectureFixture.Spec.of("llama"),
                GgmlType.F32, SEED);
        try (LoadedModel llama = LlamaLoader.load(file, null, "l", 0)) {
            LlamaConfig c = llama.llama().config();
            var asQwen3 = new LlamaConfig(Architecture.QWEN3, c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(),
                    c.headSize(), c.vocabSize(), c.contextLength(), c.ropeTheta(), c.rmsEps(), c.tiedClassifier(),
                    qwen3.rope(), c.rotary(), c.attention(), 0f);
            var e = assertThrows(InferenceException.class, () -> new Llama(asQwen3, llama.llama().weights()));
            assertTrue(e.getMessage().contains("query/key norms"), e.getMessage());
        }
    }

    private LlamaConfig config(String arch) {
        Path file = ArchitectureFixture.writeGguf(dir.resolve(arch + "-config.gguf"), ArchitectureFixture.Spec.of(arch),
                GgmlType.F32, SEED);
        try (LoadedModel model = LlamaLoader.load(file, null, arch, 0)) {
            return model.llama().config();
        }
    }

    private static void assertMatchesReference(LoadedModel model) {
        Llama llama = model.llama();
        var reference = new Float64Transformer(llama.config(), llama.weights());
        try (Llama.State state = llama.newState(POSITIONS)) {
            for (int pos = 0; pos < POSITIONS; pos++) {
                int token = token(pos, llama.config().vocabSize());
                float[] actual = llama.forward(state, token, pos);
                double[] expected = reference.forward(token, pos);
                double maxAbs = 0;
                for (double e : expected) {
                    maxAbs = Math.max(maxAbs, Math.abs(e));
                }
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], actual[i], 1e-4 * Math.max(1, maxAbs),
                            model.info().architecture() + " logit " + i + " at position " + pos);
                }
            }
        }
    }

    private static int token(int pos, int vocab) {
        return (3 + pos * 17) % vocab;
    }
}
