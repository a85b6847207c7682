package io.gpud.inference;

import io.gpud.model.GgufFile;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A byte-level BPE tokenizer (GPT-2, Llama 3, Qwen): GGUF {@code tokenizer.ggml.model = gpt2}
 * or a {@code tokenizer.json} with a ByteLevel pre-tokenizer.
 *
 * <p>Encoding: the text is first cut at special tokens (each becomes its own id, longest
 * match first), then each remaining stretch is split by the pre-tokenizer regex into words;
 * each word's UTF-8 bytes are spelled with GPT-2's byte-to-character table (printable
 * bytes as themselves, the rest as U+0100 onwards), and merged pairwise: repeatedly the
 * adjacent pair with the lowest merge rank is joined, until no pair has a rank. Every
 * resulting symbol is a vocabulary entry. Decoding maps characters back to bytes; special
 * tokens contribute no bytes.
 */
final class ByteLevelBpeTokenizer extends SpecialTokenTokenizer {
    /** GPT-2's pre-tokenizer. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Llama 3's pre-tokenizer. */
    static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private final String[] tokens;
    private final Map<String, Integer> ids;
    private final Map<String, Integer> mergeRanks; // "left right" → rank
    private final Pattern pattern;
    private final String[] specials;               // longest first
    private final Set<Integer> specialIds;
    private final boolean addBos;

    /**
     * @param tokens   the vocabulary in byte-level spelling
     * @param merges   "left right" pairs, best first
     * @param pattern  the pre-tokenizer regex
     * @param specials ids of special tokens (matched in text verbatim, no bytes when decoded)
     * @param addBos   whether {@code encode(text, true)} prepends BOS (Llama 3: yes; GPT-2: no)
     */
    ByteLevelBpeTokenizer(List<String> tokens, List<String> merges, String pattern, Set<Integer> specials, int bos,
                          int eos, Set<Integer> endTokens, boolean addBos) {
        super(bos, eos, endTokens);
        int n = tokens.size();
        for (int id : List.of(bos, eos)) {
            if (id < -1 || id >= n) {
                throw new InferenceException("tokenizer special token id " + id + " is outside the vocabulary of " + n);
            }
        }
        this.tokens = tokens.toArray(String[]::new);
        this.ids = new HashMap<>(n * 2);
        for (int id = 0; id < n; id++) {
            ids.putIfAbsent(this.tokens[id], id);
        }
        this.mergeRanks = new HashMap<>(merges.size() * 2);
        for (int rank = 0; rank < merges.size(); rank++) {
            String merge = merges.get(rank);
            if (merge.indexOf(' ') <= 0 || merge.indexOf(' ') != merge.lastIndexOf(' ')) {
                throw new InferenceException("BPE merge " + rank + " is '" + merge + "', expected 'left right'");
            }
            mergeRanks.putIfAbsent(merge, rank);
        }
        try {
            this.pattern = Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            throw new InferenceException("the pre-tokenizer regex does not compile: " + e.getDescription());
        }
        for (int id : specials) {
            if (id < 0 || id >= n) {
                throw new InferenceException("special token id " + id + " is outside the vocabulary of " + n);
            }
        }
        this.specialIds = Set.copyOf(specials);
        this.specials = specials.stream().map(id -> this.tokens[id]).filter(s -> !s.isEmpty())
                .sorted((a, b) -> b.length() - a.length()).toArray(String[]::new);
        this.addBos = addBos;
    }

    /** From GGUF {@code tokenizer.ggml.*} metadata of model type {@code gpt2}. */
    static ByteLevelBpeTokenizer fromGguf(GgufFile gguf) {
        List<String> tokens = gguf.getStrings("tokenizer.ggml.tokens");
        List<String> merges = gguf.has("tokenizer.ggml.merges") ? gguf.getStrings("tokenizer.ggml.merges") : List.of();
        int[] types = gguf.has("tokenizer.ggml.token_type") ? gguf.getInts("tokenizer.ggml.token_type") : new int[0];
        var specials = new HashSet<Integer>();
        for (int id = 0; id < Math.min(types.length, tokens.size()); id++) {
            if (types[id] == SentencePieceTokenizer.CONTROL || types[id] == 4) {
                specials.add(id);
            }
        }
        String pre = gguf.getString("tokenizer.ggml.pre", "default");
        String pattern = pre.startsWith("llama") ? LLAMA3_PATTERN : GPT2_PATTERN;
        var special = GgufSpecials.of(gguf);
        boolean addBos = gguf.has("tokenizer.ggml.add_bos_token")
                ? gguf.metadata().get("tokenizer.ggml.add_bos_token").value() instanceof Boolean b && b
                : special.bos() >= 0;
        return new ByteLevelBpeTokenizer(tokens, merges, pattern, specials, special.bos(), special.eos(),
                special.ends(), addBos);
    }

    /**
     * Ids of the tokens that end a turn or a message in the chat formats of the common model
     * families, where the vocabulary has them: Llama 3 {@code <|eot_id|>}, {@code <|eom_id|>}
     * (after a tool call) and {@code <|end_of_text|>}; Qwen {@code <|im_end|>} and
     * {@code <|endoftext|>}; Gemma {@code <end_of_turn>}; Phi-3 {@code <|end|>}. (Llama 2 and
     * Mistral end turns with EOS, {@code </s>}.)
     */
    static Set<Integer> endOfTurnTokens(List<String> vocabulary) {
        var ends = new HashSet<Integer>();
        Set<String> names = Set.of("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>",
                "<end_of_turn>", "<|end|>");
        for (int id = 0; id < vocabulary.size(); id++) {
            if (names.contains(vocabulary.get(id))) {
                ends.add(id);
            }
        }
        return ends;
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        var out = new ArrayList<Integer>();
        if (addBos && this.addBos && bos >= 0) {
            out.add(bos);
        }
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            String special = specialAt(text, i);
            if (special != null) {
                encodeOrdinary(text.substring(start, i), out);
                out.add(ids.get(special));
                i += special.length();
                start = i;
            } else {
                i++;
            }
        }
        encodeOrdinary(text.substring(start), out);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private String specialAt(String text, int i) {
        for (String special : specials) {
            if (text.startsWith(special, i)) {
                return special;
            }
        }
        return null;
    }

    private void encodeOrdinary(String text, List<Integer> out) {
        if (text.isEmpty()) {
            return;
        }
        Matcher words = pattern.matcher(text);
        int end = 0;
        while (words.find()) {
            if (words.end() == words.start()) {
                continue;
            }
            if (words.start() > end) {
                encodeWord(text.substring(end, words.start()), out);
            }
            encodeWord(words.group(), out);
            end = words.end();
        }
        if (end < text.length()) {
            encodeWord(text.substring(end), out);
        }
    }

    private void encodeWord(String word, List<Integer> out) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        var symbols = new ArrayList<String>(utf8.length);
        for (byte b : utf8) {
            symbols.add(String.valueOf(BYTE_TO_CHAR[b & 0xFF]));
        }
        while (symbols.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int j = 0; j + 1 < symbols.size(); j++) {
                Integer rank = mergeRanks.get(symbols.get(j) + " " + symbols.get(j + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = j;
                }
            }
            if (best < 0) {
                break;
            }
            symbols.set(best, symbols.get(best) + symbols.remove(best + 1));
        }
        for (String symbol : symbols) {
            Integer id = ids.get(symbol);
            if (id != null) {
                out.add(id);
            } else {
                for (int c = 0; c < symbol.length(); c++) {
                    Integer single = ids.get(String.valueOf(symbol.charAt(c)));
                    if (single == null) {
                        throw new InferenceException("the vocabulary has no token for byte "
                                + CHAR_TO_BYTE[symbol.charAt(c)] + " of '" + word + "'");
                    }
                    out.add(single);
                }
            }
        }
    }

    /** The token as spelled in the vocabulary (special tokens: their text). */
    String spelling(int token) {
        return tokens[token];
    }

    @Override
    public byte[] tokenBytes(int token) {
        if (token < 0 || token >= tokens.length) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary of " + tokens.length);
        }
        if (specialIds.contains(token)) {
            return new byte[0];
        }
        String spelled = tokens[token];
        var out = new ByteArrayOutputStream(spelled.length());
        for (int i = 0; i < spelled.length(); i++) {
            char c = spelled.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }

    @Override
    public String decode(int[] tokenIds) {
        var out = new ByteArrayOutputStream();
        for (int token : tokenIds) {
            out.writeBytes(tokenBytes(token));
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
