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
import java.util.Map;
import java.util.Set;

/**
 * Builds a tokenizer from a Hugging Face {@code tokenizer.json} (with
 * {@code tokenizer_config.json} beside it for BOS and EOS), reading the parts of the file
 * that decide the ids as Hugging Face's tokenizers do: the added tokens (matched in text
 * first, special or not), the normalizer, the pre-tokenizer, the BPE model's flags and the
 * post-processor's BOS.
 *
 * <p>Two kinds of BPE models are read. Byte-level BPE (a {@code ByteLevel} pre-tokenizer,
 * possibly after a regex {@code Split}, possibly after an NFC normalizer: GPT-2, Llama 3,
 * Qwen, Mistral Nemo) becomes a {@link ByteLevelBpeTokenizer}. Sentencepiece-style BPE
 * ({@code byte_fallback}, spaces replaced by {@code ▁}, with or without a prepended
 * {@code ▁}: Llama 2, Mistral 7B, Gemma) becomes a {@link SentencePieceTokenizer} merging by
 * the file's merge ranks. BOS is added where the post-processor's template starts with it
 * (without a post-processor: where {@code add_bos_token} says, by default when there is a
 * BOS). Anything else is refused with a message that names it.
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
        for (String suffix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (!model.path(suffix).asText("").isEmpty()) {
                throw new InferenceException(tokenizerJson + ": BPE " + suffix + " is not supported");
            }
        }
        String[] tokens = new String[vocabSize];
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject()) {
            throw new InferenceException(tokenizerJson + ": model.vocab is not an object");
        }
        var ids = new HashMap<String, Integer>(vocab.size() * 2);
        for (var it = vocab.fields(); it.hasNext(); ) {
            var entry = it.next();
            ids.put(entry.getKey(), put(tokenizerJson, tokens, entry.getValue(), entry.getKey()));
        }
        var added = new HashMap<String, Integer>();
        var specials = new HashSet<Integer>();
        for (JsonNode token : root.path("added_tokens")) {
            String content = token.path("content").asText("");
            int id = put(tokenizerJson, tokens, token.path("id"), content);
            ids.put(content, id);
            added.put(content, id);
            if (token.path("special").asBoolean(false)) {
                specials.add(id);
            }
        }
        var addedTokens = new AddedTokens(added, specials);
        List<String> vocabulary = new ArrayList<>(Arrays.asList(tokens));
        vocabulary.replaceAll(t -> t == null ? "" : t);
        List<String[]> merges = merges(tokenizerJson, model.path("merges"));

        JsonNode config = tokenizerConfig(tokenizerJson);
        int bos = idOf(ids, tokenText(config.path("bos_token")));
        int eos = idOf(ids, tokenText(config.path("eos_token")));
        Set<Integer> ends = new HashSet<>(ByteLevelBpeTokenizer.endOfTurnTokens(vocabulary));
        if (eos >= 0) {
            ends.add(eos);
        }
        ends.addAll(generationEnds(tokenizerJson, vocabulary.size()));
        boolean addBos = addsBos(root.path("post_processor"), ids, bos, config);

        if (model.path("byte_fallback").asBoolean(false)) {
            var options = new SentencePieceTokenizer.Options(BpeMerges.ofPairs(merges, ids), addedTokens,
                    spacePrefix(tokenizerJson, root), addBos);
            return sentencePiece(vocabulary, specials, bos, eos, ends, options);
        }
        var pre = new ByteLevelBpeTokenizer.PreTokenizer(preTokenizerPattern(tokenizerJson, root.path("pre_tokenizer")),
                nfc(tokenizerJson, root.path("normalizer")), model.path("ignore_merges").asBoolean(false));
        var mergeStrings = merges.stream().map(pair -> pair[0] + " " + pair[1]).toList();
        return new ByteLevelBpeTokenizer(vocabulary, mergeStrings, pre, addedTokens, bos, eos, ends, addBos);
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

    private static List<String[]> merges(Path file, JsonNode node) {
        var merges = new ArrayList<String[]>(node.size());
        for (JsonNode merge : node) {
            String text = merge.asText();
            int space = text.indexOf(' ');
            if (merge.isTextual() && space > 0 && space < text.length() - 1 && space == text.lastIndexOf(' ')) {
                merges.add(new String[] {text.substring(0, space), text.substring(space + 1)});
            } else if (merge.isArray() && merge.size() == 2) {
                merges.add(new String[] {merge.get(0).asText(), merge.get(1).asText()});
            } else {
                throw new InferenceException(file + ": merge " + merges.size() + " is " + merge
                        + ", expected \"left right\" or [left, right]");
            }
        }
        return merges;
    }

    /**
     * Whether encoding adds BOS: where the post-processor (alone or in a Sequence) is a
     * template that starts with BOS; without a post-processor, as {@code add_bos_token} says.
     */
    private static boolean addsBos(JsonNode post, Map<String, Integer> ids, int bos, JsonNode config) {
        if (post.isMissingNode() || post.isNull()) {
            return config.path("add_bos_token").asBoolean(bos >= 0);
        }
        var steps = post.path("type").asText("").equals("Sequence") ? post.path("processors") : List.of(post);
        for (JsonNode step : steps) {
            if (step.path("type").asText("").equals("TemplateProcessing")) {
                String first = step.path("single").path(0).path("SpecialToken").path("id").asText(null);
                Integer id = first == null ? null : ids.get(first);
                return id != null && id == bos;
            }
        }
        return false;
    }

    /** Whether the normalizer of a byte-level model is NFC (or nothing). */
    private static boolean nfc(Path file, JsonNode normalizer) {
        if (normalizer.isMissingNode() || normalizer.isNull()) {
            return false;
        }
        if (normalizer.path("type").asText("").equals("NFC")) {
            return true;
        }
        throw new InferenceException(file + ": normalizer " + normalizer.path("type").asText("(unnamed)")
                + " is not supported with a byte-level model (only none or NFC)");
    }

    /**
     * Whether a sentencepiece-style model prepends {@code ▁} to each stretch of text: its
     * normalizer must replace spaces by {@code ▁}, with or without a {@code Prepend} of
     * {@code ▁} (none at all: Llama 2's legacy behaviour, with the prefix).
     */
    private static boolean spacePrefix(Path file, JsonNode root) {
        JsonNode normalizer = root.path("normalizer");
        JsonNode pre = root.path("pre_tokenizer");
        boolean splitsOnSpaces = pre.path("type").asText("").equals("Split")
                && pre.path("pattern").path("String").asText("").equals(" ");
        if (!pre.isMissingNode() && !pre.isNull() && !splitsOnSpaces) {
            throw new InferenceException(file + ": pre-tokenizer " + pre.path("type").asText("(unnamed)")
                    + " is not supported with a byte-fallback model");
        }
        if (normalizer.isMissingNode() || normalizer.isNull()) {
            return true;
        }
        var steps = normalizer.path("type").asText("").equals("Sequence") ? normalizer.path("normalizers")
                : List.of(normalizer);
        boolean prepend = false;
        boolean replace = false;
        for (JsonNode step : steps) {
            String type = step.path("type").asText("");
            if (type.equals("Prepend") && step.path("prepend").asText("").equals("\u2581")) {
                prepend = true;
            } else if (type.equals("Replace") && step.path("pattern").path("String").asText("").equals(" ")
                    && step.path("content").asText("").equals("\u2581")) {
                replace = true;
            } else {
                throw new InferenceException(file + ": normalizer step " + type + " is not supported with a "
                        + "byte-fallback model (only Prepend '▁' and Replace ' ' by '▁')");
            }
        }
        if (!replace) {
            throw new InferenceException(file + ": a byte-fallback model's normalizer must replace ' ' by '▁'");
        }
        return prepend;
    }

    /** The regex of a ByteLevel pre-tokenizer, alone or after a Split in a Sequence. */
    private static String preTokenizerPattern(Path file, JsonNode pre) {
        String type = pre.path("type").asText("");
        if (type.equals("ByteLevel") && !pre.path("add_prefix_space").asBoolean(false)) {
            return ByteLevelBpeTokenizer.GPT2_PATTERN;
        }
        if (type.equals("Sequence")) {
            String split = null;
            boolean byteLevel = false;
            for (JsonNode step : pre.path("pretokenizers")) {
                String stepType = step.path("type").asText("");
                if (stepType.equals("Split") && step.path("pattern").has("Regex") && !step.path("invert").asBoolean(false)
                        && step.path("behavior").asText("Isolated").equals("Isolated")) {
                    split = step.path("pattern").path("Regex").asText();
                } else if (stepType.equals("ByteLevel") && !step.path("add_prefix_space").asBoolean(false)) {
                    byteLevel = true;
                    if (split == null && step.path("use_regex").asBoolean(true)) {
                        split = ByteLevelBpeTokenizer.GPT2_PATTERN;
                    }
                } else {
                    split = null;
                    break;
                }
            }
            if (byteLevel && split != null) {
                return split;
            }
        }
        throw new InferenceException(file + ": pre-tokenizer " + pre.path("type").asText("(none)")
                + " is not supported: byte-level BPE needs ByteLevel (optionally after an isolating regex Split), "
                + "without add_prefix_space");
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

    private static int idOf(Map<String, Integer> ids, String text) {
        return text == null || text.isEmpty() ? -1 : ids.getOrDefault(text, -1);
    }

    private static SentencePieceTokenizer sentencePiece(List<String> vocabulary, Set<Integer> specials, int bos,
                                                        int eos, Set<Integer> ends,
                                                        SentencePieceTokenizer.Options options) {
        int n = vocabulary.size();
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
        return new SentencePieceTokenizer(pieces, new float[n], types, bos, eos, ends, options);
    }
}
