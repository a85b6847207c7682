package io.gpud.inference;

import io.gpud.model.GgufFile;
import java.io.ByteArrayOutputStream;
import java.text.Normalizer;
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
 * A byte-level BPE tokenizer (GPT-2, Llama 3, Qwen, Mistral's tekken): GGUF
 * {@code tokenizer.ggml.model = gpt2} or a {@code tokenizer.json} with a ByteLevel
 * pre-tokenizer.
 *
 * <p>Encoding, as Hugging Face's tokenizers do: the text is first cut at added tokens
 * ({@link AddedTokens}: each becomes its own id), then each remaining stretch is optionally
 * NFC-normalized (Qwen) and split by the pre-tokenizer regex into words (the matches and the
 * text between them); each word's UTF-8 bytes (unpaired surrogates as U+FFFD) are spelled
 * with GPT-2's byte-to-character table (printable bytes as themselves, the rest as U+0100
 * onwards). With {@code ignoreMerges} (Llama 3, tekken) a word that is itself a vocabulary
 * entry is that token; otherwise its bytes are merged pairwise, lowest merge rank first
 * ({@link BpeMerges}). Decoding maps characters back to bytes; added tokens give their text,
 * special tokens nothing.
 */
final class ByteLevelBpeTokenizer extends SpecialTokenTokenizer {
    /** GPT-2's pre-tokenizer. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Llama 3's pre-tokenizer. */
    static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen 2's pre-tokenizer: Llama 3's with one digit per word. */
    static final String QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Mistral's tekken pre-tokenizer (Mistral Nemo). */
    static final String TEKKEN_PATTERN = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
            + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /**
     * How text becomes words before merging.
     *
     * @param pattern      the pre-tokenizer regex (Hugging Face / Oniguruma syntax; {@code \s}
     *                     is Unicode White_Space, as there)
     * @param nfc          whether each stretch of text is NFC-normalized first
     * @param ignoreMerges whether a word that is a vocabulary entry is taken whole
     */
    record PreTokenizer(String pattern, boolean nfc, boolean ignoreMerges) {
        static final PreTokenizer GPT2 = new PreTokenizer(GPT2_PATTERN, false, false);
    }

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
    private final int[] byteIds;                   // (256) the token of each single byte, or -1
    private final BpeMerges merges;
    private final Pattern pattern;
    private final PreTokenizer pre;
    private final AddedTokens added;
    private final boolean addBos;

    /** A tokenizer whose added tokens are all special, with a plain pre-tokenizer regex. */
    ByteLevelBpeTokenizer(List<String> tokens, List<String> merges, String pattern, Set<Integer> specials, int bos,
                          int eos, Set<Integer> endTokens, boolean addBos) {
        this(tokens, merges, new PreTokenizer(pattern, false, false), addedTokens(tokens, specials, specials), bos, eos,
                endTokens, addBos);
    }

    /**
     * @param tokens  the vocabulary in byte-level spelling (added tokens: their text)
     * @param merges  "left right" pairs, best first
     * @param pre     how text becomes words
     * @param added   the added tokens (matched in text verbatim; decoded as their text,
     *                special ones as nothing)
     * @param addBos  whether {@code encode(text, true)} prepends BOS (Llama 3: yes; GPT-2: no)
     */
    ByteLevelBpeTokenizer(List<String> tokens, List<String> merges, PreTokenizer pre, AddedTokens added, int bos,
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
        this.byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteIds[b] = ids.getOrDefault(String.valueOf(BYTE_TO_CHAR[b]), -1);
        }
        this.merges = BpeMerges.of(merges, ids);
        try {
            this.pattern = Pattern.compile(javaRegex(pre.pattern()));
        } catch (PatternSyntaxException e) {
            throw new InferenceException("the pre-tokenizer regex does not compile: " + e.getDescription());
        }
        this.pre = pre;
        this.added = added;
        this.addBos = addBos;
    }

    /** The added tokens among {@code tokens} with ids {@code ids}, {@code special} of them special. */
    static AddedTokens addedTokens(List<String> tokens, Set<Integer> ids, Set<Integer> special) {
        var byText = new HashMap<String, Integer>();
        for (int id : ids) {
            if (id < 0 || id >= tokens.size()) {
                throw new InferenceException("added token id " + id + " is outside the vocabulary of " + tokens.size());
            }
            byText.putIfAbsent(tokens.get(id), id);
        }
        return new AddedTokens(byText, special);
    }

    /**
     * {@code regex} for java.util.regex: {@code \s} and {@code \S} as Unicode White_Space
     * (Oniguruma's meaning, and Hugging Face's in JavaScript), where Java's are ASCII-only.
     */
    static String javaRegex(String regex) {
        var out = new StringBuilder(regex.length() + 32);
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\' && i + 1 < regex.length()) {
                char next = regex.charAt(++i);
                out.append(switch (next) {
                    case 's' -> "\\p{IsWhite_Space}";
                    case 'S' -> "\\P{IsWhite_Space}";
                    default -> "\\" + next;
                });
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** From GGUF {@code tokenizer.ggml.*} metadata of model type {@code gpt2}. */
    static ByteLevelBpeTokenizer fromGguf(GgufFile gguf) {
        List<String> tokens = gguf.getStrings("tokenizer.ggml.tokens");
        List<String> merges = gguf.has("tokenizer.ggml.merges") ? gguf.getStrings("tokenizer.ggml.merges") : List.of();
        int[] types = gguf.has("tokenizer.ggml.token_type") ? gguf.getInts("tokenizer.ggml.token_type") : new int[0];
        var addedIds = new HashSet<Integer>();
        var specials = new HashSet<Integer>();
        for (int id = 0; id < Math.min(types.length, tokens.size()); id++) {
            if (types[id] == SentencePieceTokenizer.CONTROL || types[id] == SentencePieceTokenizer.USER_DEFINED) {
                addedIds.add(id);
            }
            if (types[id] == SentencePieceTokenizer.CONTROL) {
                specials.add(id);
            }
        }
        String preName = gguf.getString("tokenizer.ggml.pre", "default");
        PreTokenizer pre = ggufPreTokenizer(preName);
        var special = GgufSpecials.of(gguf);
        boolean addBos = gguf.has("tokenizer.ggml.add_bos_token")
                ? gguf.metadata().get("tokenizer.ggml.add_bos_token").value() instanceof Boolean b && b
                : special.bos() >= 0 && (preName.startsWith("llama") || preName.equals("tekken"));
        return new ByteLevelBpeTokenizer(tokens, merges, pre, addedTokens(tokens, addedIds, specials), special.bos(),
                special.eos(), special.ends(), addBos);
    }

    /**
     * The pre-tokenizer of a GGUF {@code tokenizer.ggml.pre} name (llama.cpp's names for the
     * pre-tokenizers of the models it converts). Qwen's NFC normalization, which llama.cpp
     * leaves out, is kept, so a GGUF model encodes as its Hugging Face tokenizer does.
     */
    static PreTokenizer ggufPreTokenizer(String name) {
        return switch (name) {
            case "default", "gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais" -> PreTokenizer.GPT2;
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral" -> new PreTokenizer(LLAMA3_PATTERN, false, true);
            case "smaug-bpe", "dbrx" -> new PreTokenizer(LLAMA3_PATTERN, false, false);
            case "qwen2", "deepseek-r1-qwen" -> new PreTokenizer(QWEN2_PATTERN, true, false);
            case "tekken" -> new PreTokenizer(TEKKEN_PATTERN, false, true);
            default -> throw new InferenceException("GGUF pre-tokenizer '" + name + "' is not supported (supported: "
                    + "default, gpt-2, phi-2, mpt, olmo, jais, llama3, llama-v3, llama-bpe, falcon3, pixtral, "
                    + "smaug-bpe, dbrx, qwen2, deepseek-r1-qwen, tekken)");
        };
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
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        var out = new IntList(text.length() / 3 + 2);
        if (addBos && this.addBos && bos >= 0) {
            out.add(bos);
        }
        for (AddedTokens.Fragment fragment : added.split(text, parseSpecial)) {
            if (fragment.isToken()) {
                out.add(fragment.token());
            } else {
                encodeOrdinary(pre.nfc() ? Normalizer.normalize(fragment.text(), Normalizer.Form.NFC) : fragment.text(),
                        out);
            }
        }
        return out.toArray();
    }

    private void encodeOrdinary(String text, IntList out) {
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

    private void encodeWord(String word, IntList out) {
        byte[] utf8 = AddedTokens.utf8(word);
        if (pre.ignoreMerges()) {
            var spelled = new StringBuilder(utf8.length);
            for (byte b : utf8) {
                spelled.append(BYTE_TO_CHAR[b & 0xFF]);
            }
            Integer id = ids.get(spelled.toString());
            if (id != null) {
                out.add(id);
                return;
            }
        }
        int[] symbols = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            symbols[i] = byteIds[utf8[i] & 0xFF];
            if (symbols[i] < 0) {
                throw new InferenceException("the vocabulary has no token for byte " + (utf8[i] & 0xFF) + " of '"
                        + word + "'");
            }
        }
        int n = BpeMerges.apply(symbols, symbols.length, merges::merge);
        for (int i = 0; i < n; i++) {
            out.add(symbols[i]);
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
        if (added.isSpecial(token)) {
            return new byte[0];
        }
        String spelled = tokens[token];
        if (added.contains(token)) {
            return AddedTokens.utf8(spelled);
        }
        var out = new ByteArrayOutputStream(spelled.length());
        for (int i = 0; i < spelled.length(); i++) {
            char c = spelled.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(AddedTokens.utf8(String.valueOf(c)));
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
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
}
