package io.gpud.inference;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.model.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds a tokenizer from a Hugging Face {@code tokenizer.json} (with
 * {@code tokenizer_config.json} beside it for BOS, EOS and whether to add BOS).
 *
 * <p>Two kinds of BPE models are read. Byte-level BPE (a {@code ByteLevel} pre-tokenizer,
 * possibly after a {@code Split} by regex: GPT-2, Llama 3) becomes a
 * {@link ByteLevelBpeTokenizer}. Sentencepiece-style BPE ({@code byte_fallback}, pieces
 * spelled with {@code ▁}: Llama 2, TinyLlama, Mistral) becomes a
 * {@link SentencePieceTokenizer} whose piece scores are the negated rank of the merge
 * that makes each piece, which makes its greedy highest-score merging the same as BPE's
 * lowest-rank-first merging.
 */
final class HuggingFaceTokenizers {
    private HuggingFaceTokenizers() {
    }

    /** The tokenizer of {@code tokenizerJson}, padded with unused ids up to {@code vocabSize}. */
    static Tokenizer load(Path tokenizerJson, int vocabSize) {
        JsonNode root = SafetensorsFile.readJsonFile(tokenizerJson);
        JsonNode model = root.path("model");
        if (!model.path("type").asText("BPE").equals("BPE")) {
            throw new InferenceException(tokenizerJson + ": tokenizer model " + model.path("type").asText()
                    + " is not supported, only BPE");
        }
        String[] tokens = new String[vocabSize];
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject()) {
            throw new InferenceException(tokenizerJson + ": model.vocab is not an object");
        }
        for (var it = vocab.fields(); it.hasNext(); ) {
            var entry = it.next();
            put(tokenizerJson, tokens, entry.getValue(), entry.getKey());
        }
        var specials = new HashSet<Integer>();
        for (JsonNode added : root.path("added_tokens")) {
            int id = put(tokenizerJson, tokens, added.path("id"), added.path("content").asText(""));
            if (added.path("special").asBoolean(false)) {
                specials.add(id);
            }
        }
        List<String> vocabulary = new ArrayList<>(Arrays.asList(tokens));
        vocabulary.replaceAll(t -> t == null ? "" : t);
        List<String> merges = merges(tokenizerJson, model.path("merges"));

        JsonNode config = tokenizerConfig(tokenizerJson);
        int bos = idOf(vocabulary, tokenText(config.path("bos_token")));
        int eos = idOf(vocabulary, tokenText(config.path("eos_token")));
        Set<Integer> ends = new HashSet<>(ByteLevelBpeTokenizer.endOfTurnTokens(vocabulary));
        if (eos >= 0) {
            ends.add(eos);
        }
        ends.addAll(generationEnds(tokenizerJson, vocabulary.size()));
        boolean addBos = config.path("add_bos_token").asBoolean(bos >= 0);

        if (model.path("byte_fallback").asBoolean(false)) {
            return sentencePiece(vocabulary, merges, specials, bos, eos, ends);
        }
        String pattern = preTokenizerPattern(tokenizerJson, root.path("pre_tokenizer"));
        return new ByteLevelBpeTokenizer(vocabulary, merges, pattern, specials, bos, eos, ends, addBos);
    }

    private static int put(Path file, String[] tokens, JsonNode idNode, String text) {
        if (!idNode.canConvertToExactIntegral() || idNode.asLong() < 0 || idNode.asLong() >= tokens.length) {
            throw new InferenceException(file + ": token '" + text + "' has id " + idNode
                    + ", outside the model's vocabulary of " + tokens.length);
        }
        int id = idNode.asInt();
        tokens[id] = text;
        return id;
    }

    private static List<String> merges(Path file, JsonNode node) {
        var merges = new ArrayList<String>(node.size());
        for (JsonNode merge : node) {
            if (merge.isTextual()) {
                merges.add(merge.asText());
            } else if (merge.isArray() && merge.size() == 2) {
                merges.add(merge.get(0).asText() + " " + merge.get(1).asText());
            } else {
                throw new InferenceException(file + ": merge " + merges.size() + " is " + merge
                        + ", expected \"left right\" or [left, right]");
            }
        }
        return merges;
    }

    /** The regex of a ByteLevel pre-tokenizer, alone or after a Split in a Sequence. */
    private static String preTokenizerPattern(Path file, JsonNode pre) {
        String type = pre.path("type").asText("");
        if (type.equals("ByteLevel")) {
            return ByteLevelBpeTokenizer.GPT2_PATTERN;
        }
        if (type.equals("Sequence")) {
            String split = null;
            boolean byteLevel = false;
            for (JsonNode step : pre.path("pretokenizers")) {
                String stepType = step.path("type").asText("");
                if (stepType.equals("Split") && step.path("pattern").has("Regex")) {
                    split = step.path("pattern").path("Regex").asText();
                } else if (stepType.equals("ByteLevel")) {
                    byteLevel = true;
                    if (split == null && step.path("use_regex").asBoolean(true)) {
                        split = ByteLevelBpeTokenizer.GPT2_PATTERN;
                    }
                }
            }
            if (byteLevel && split != null) {
                return split;
            }
        }
        throw new InferenceException(file + ": pre-tokenizer " + pre.path("type").asText("(none)")
                + " is not supported: byte-level BPE needs ByteLevel (optionally after a regex Split)");
    }

    private static JsonNode tokenizerConfig(Path tokenizerJson) {
        Path config = tokenizerJson.resolveSibling("tokenizer_config.json");
        return Files.exists(config) ? SafetensorsFile.readJsonFile(config) : SafetensorsFile.emptyJson();
    }

    /**
     * The ids generation_config.json beside the tokenizer names as {@code eos_token_id}, one
     * id or a list (Llama 3.1+ lists {@code <|end_of_text|>}, {@code <|eom_id|>} and
     * {@code <|eot_id|>}); none when the file is absent.
     */
    private static List<Integer> generationEnds(Path tokenizerJson, int vocabSize) {
        Path file = tokenizerJson.resolveSibling("generation_config.json");
        if (!Files.exists(file)) {
            return List.of();
        }
        JsonNode eos = SafetensorsFile.readJsonFile(file).path("eos_token_id");
        var ids = new ArrayList<Integer>();
        for (JsonNode id : eos.isArray() ? eos : List.of(eos)) {
            if (id.isMissingNode() || id.isNull()) {
                continue;
            }
            if (!id.canConvertToExactIntegral() || id.asLong() < 0 || id.asLong() >= vocabSize) {
                throw new InferenceException(file + ": eos_token_id " + id + " is not a token id of the vocabulary of "
                        + vocabSize);
            }
            ids.add(id.asInt());
        }
        return ids;
    }

    /** A token named as a string or as {@code {"content": ...}} in tokenizer_config.json. */
    static String tokenText(JsonNode node) {
        return node.isTextual() ? node.asText() : node.path("content").asText(null);
    }

    private static int idOf(List<String> vocabulary, String text) {
        return text == null || text.isEmpty() ? -1 : vocabulary.indexOf(text);
    }

    private static SentencePieceTokenizer sentencePiece(List<String> vocabulary, List<String> merges,
                                                        Set<Integer> specials, int bos, int eos, Set<Integer> ends) {
        int n = vocabulary.size();
        float[] scores = new float[n];
        Arrays.fill(scores, -(float) merges.size() - 1);
        var index = new HashMap<String, Integer>(n * 2);
        for (int id = 0; id < n; id++) {
            index.putIfAbsent(vocabulary.get(id), id);
        }
        for (int rank = 0; rank < merges.size(); rank++) {
            Integer id = index.get(merges.get(rank).replace(" ", ""));
            if (id != null && scores[id] < -rank) {
                scores[id] = -rank;
            }
        }
        int[] types = new int[n];
        var pieces = new ArrayList<String>(n);
        for (int id = 0; id < n; id++) {
            String piece = vocabulary.get(id);
            pieces.add(piece.replace('\u2581', ' '));
            types[id] = specials.contains(id) ? SentencePieceTokenizer.CONTROL
                    : piece.isEmpty() ? SentencePieceTokenizer.UNUSED
                    : piece.equals("<unk>") ? SentencePieceTokenizer.UNKNOWN
                    : SentencePieceTokenizer.NORMAL;
        }
        return new SentencePieceTokenizer(pieces, scores, types, bos, eos, ends);
    }
}
