package io.gpud.inference;

import io.gpud.model.GgufFile;
import io.gpud.model.Llama2cTokenizerFile;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sentencepiece-style tokenizer (Llama 2, Mistral 7B, Gemma): pieces spelled with spaces
 * (GGUF's and tokenizer.json's {@code '▁'} is converted on load, and a {@code '▁'} in text
 * counts as a space), byte-fallback tokens {@code <0xXX>} for what the pieces do not cover.
 *
 * <p>Encoding: the text is cut at added tokens ({@link AddedTokens}); each remaining stretch
 * gets a dummy prefix space where the model adds one (Llama 2, Mistral: yes; Gemma: no) and
 * it starts the text or follows an added token, as Hugging Face's "legacy" Llama tokenizer
 * and llama.cpp do; then it becomes one symbol per code point, merged pairwise
 * ({@link BpeMerges}): by the rank of Hugging Face's merge list when the tokenizer came from
 * a {@code tokenizer.json}, or else by piece score, highest first (sentencepiece, llama2.c,
 * llama.cpp). A code point that is no piece becomes the byte tokens of its UTF-8 (unpaired
 * surrogates as U+FFFD), or the unknown token where those are missing.
 *
 * <p>Decoding gives each token's bytes (a byte token its byte, a control token nothing) and,
 * where the model adds the dummy prefix, drops the leading space of the text.
 */
final class SentencePieceTokenizer extends SpecialTokenTokenizer {
    /** GGUF {@code tokenizer.ggml.token_type} values. */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    /**
     * How text is cut and merged.
     *
     * @param merges      Hugging Face merge ranks over the vocabulary, or null to merge by score
     * @param added       the added tokens matched in text verbatim
     * @param spacePrefix whether each stretch of text after an added token, or at the start,
     *                    gets a dummy prefix space (and decoding drops the leading space)
     * @param addBos      whether {@code encode(text, true)} prepends BOS
     */
    record Options(BpeMerges merges, AddedTokens added, boolean spacePrefix, boolean addBos) {
        /** llama2.c's run.c: merging by score, a prefix space, BOS, no added tokens. */
        static final Options LLAMA2C = new Options(null, AddedTokens.NONE, true, true);
    }

    private final String[] pieces;          // (vocab) token text, spaces as ' '
    private final byte[][] pieceBytes;      // (vocab) UTF-8 of the piece, or the single byte of a byte token
    private final int[] scoreRanks;         // (vocab) 0 for the highest score, 1 for the next, ...
    private final int[] types;              // (vocab) GGUF token type
    private final Map<String, Integer> textToId;
    private final int[] byteTokens;         // (256) id of <0xXX>, or -1
    private final int unknown;              // the unknown token, or -1
    private final Options options;

    SentencePieceTokenizer(List<String> pieces, float[] scores, int[] types, int bos, int eos, Set<Integer> endTokens) {
        this(pieces, scores, types, bos, eos, endTokens, Options.LLAMA2C);
    }

    SentencePieceTokenizer(List<String> pieces, float[] scores, int[] types, int bos, int eos, Set<Integer> endTokens,
                           Options options) {
        super(bos, eos, endTokens);
        int n = pieces.size();
        if (scores.length != n || types.length != n) {
            throw new InferenceException("tokenizer has " + n + " pieces, " + scores.length + " scores and "
                    + types.length + " token types; they must be equal");
        }
        for (int id : List.of(bos, eos)) {
            if (id < -1 || id >= n) {
                throw new InferenceException("tokenizer special token id " + id + " is outside the vocabulary of " + n);
            }
        }
        this.pieces = pieces.toArray(String[]::new);
        this.scoreRanks = ranks(scores);
        this.types = types.clone();
        this.pieceBytes = new byte[n][];
        this.byteTokens = new int[256];
        Arrays.fill(byteTokens, -1);
        this.textToId = new HashMap<>(n * 2);
        int unk = -1;
        for (int id = 0; id < n; id++) {
            String piece = this.pieces[id];
            int byteValue = parseByteToken(piece);
            if (types[id] == BYTE || byteValue >= 0) {
                if (byteValue < 0) {
                    throw new InferenceException("byte token " + id + " is spelled '" + piece + "', expected <0xXX>");
                }
                this.types[id] = BYTE;
                if (byteTokens[byteValue] < 0) {
                    byteTokens[byteValue] = id;
                }
                pieceBytes[id] = new byte[] {(byte) byteValue};
            } else if (types[id] == CONTROL || types[id] == UNKNOWN || types[id] == UNUSED) {
                pieceBytes[id] = new byte[0];
                unk = unk < 0 && types[id] == UNKNOWN ? id : unk;
            } else {
                pieceBytes[id] = AddedTokens.utf8(piece);
            }
            textToId.putIfAbsent(piece, id);
        }
        this.unknown = unk;
        this.options = options;
    }

    /** Each score's place in descending order (equal scores, equal places). */
    private static int[] ranks(float[] scores) {
        float[] distinct = scores.clone();
        Arrays.sort(distinct);
        int[] ranks = new int[scores.length];
        for (int id = 0; id < scores.length; id++) {
            int below = Arrays.binarySearch(distinct, scores[id]);
            while (below > 0 && distinct[below - 1] == scores[id]) {
                below--;
            }
            ranks[id] = distinct.length - 1 - below;
        }
        return ranks;
    }

    /** From a llama2.c tokenizer.bin: ids 0, 1, 2 are {@code <unk>}, BOS and EOS. */
    static SentencePieceTokenizer fromLlama2c(Llama2cTokenizerFile file) {
        int n = file.pieces().size();
        var pieces = new ArrayList<String>(n);
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            pieces.add(new String(file.pieces().get(id), StandardCharsets.UTF_8));
            types[id] = id == 0 ? UNKNOWN : id <= 2 ? CONTROL : NORMAL;
        }
        return new SentencePieceTokenizer(pieces, file.scores(), types, 1, 2, LlamaLoader.LLAMA2C_END_TOKENS);
    }

    /**
     * From GGUF {@code tokenizer.ggml.*} metadata of model type {@code llama}: control and
     * user-defined tokens are matched in text (as llama.cpp does), the dummy prefix follows
     * {@code tokenizer.ggml.add_space_prefix} (default yes) and BOS
     * {@code tokenizer.ggml.add_bos_token} (default yes).
     */
    static SentencePieceTokenizer fromGguf(GgufFile gguf) {
        List<String> tokens = gguf.getStrings("tokenizer.ggml.tokens");
        var pieces = new ArrayList<String>(tokens.size());
        for (String token : tokens) {
            pieces.add(token.replace('\u2581', ' '));
        }
        float[] scores = gguf.has("tokenizer.ggml.scores") ? gguf.getFloats("tokenizer.ggml.scores")
                : new float[tokens.size()];
        int[] types;
        if (gguf.has("tokenizer.ggml.token_type")) {
            types = gguf.getInts("tokenizer.ggml.token_type");
        } else {
            types = new int[tokens.size()];
            Arrays.fill(types, NORMAL);
        }
        var added = new HashMap<String, Integer>();
        var specials = new HashSet<Integer>();
        for (int id = 0; id < Math.min(types.length, pieces.size()); id++) {
            if (types[id] == CONTROL || types[id] == USER_DEFINED) {
                added.putIfAbsent(pieces.get(id), id);
                if (types[id] == CONTROL) {
                    specials.add(id);
                }
            }
        }
        var special = GgufSpecials.of(gguf);
        var options = new Options(null, new AddedTokens(added, specials), flag(gguf, "tokenizer.ggml.add_space_prefix"),
                flag(gguf, "tokenizer.ggml.add_bos_token"));
        return new SentencePieceTokenizer(pieces, scores, types, special.bos(), special.eos(), special.ends(), options);
    }

    private static boolean flag(GgufFile gguf, String key) {
        return !gguf.has(key) || gguf.metadata().get(key).value() instanceof Boolean b && b;
    }

    private static int parseByteToken(String piece) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            try {
                return Integer.parseInt(piece.substring(3, 5), 16);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    /** The piece of {@code token} as text (control tokens: their name, such as {@code <s>}). */
    String piece(int token) {
        checkId(token);
        return pieces[token];
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        var out = new IntList(text.length() + 2);
        if (addBos && options.addBos() && bos >= 0) {
            out.add(bos);
        }
        boolean afterToken = true;
        for (AddedTokens.Fragment fragment : options.added().split(text, parseSpecial)) {
            if (fragment.isToken()) {
                out.add(fragment.token());
                afterToken = true;
            } else {
                encodeText(options.spacePrefix() && afterToken ? " " + fragment.text() : fragment.text(), out);
                afterToken = false;
            }
        }
        return out.toArray();
    }

    private void encodeText(String text, IntList out) {
        int[] symbols = text.codePoints().map(cp -> {
            Integer id = textToId.get(Character.toString(cp == '\u2581' ? ' ' : cp));
            return id != null ? id : -1 - cp;
        }).toArray();
        BpeMerges merges = options.merges();
        int n = BpeMerges.apply(symbols, symbols.length, merges != null ? merges::merge : this::mergeByScore);
        for (int i = 0; i < n; i++) {
            if (symbols[i] >= 0) {
                out.add(symbols[i]);
            } else {
                appendBytes(-1 - symbols[i], out);
            }
        }
    }

    private long mergeByScore(int left, int right) {
        if (left < 0 || right < 0) {
            return BpeMerges.NONE;
        }
        Integer merged = textToId.get(pieces[left] + pieces[right]);
        return merged == null ? BpeMerges.NONE : (long) scoreRanks[merged] << 32 | merged;
    }

    private void appendBytes(int codePoint, IntList out) {
        byte[] utf8 = AddedTokens.utf8(Character.toString(codePoint));
        for (byte b : utf8) {
            if (byteTokens[b & 0xFF] < 0) {
                if (unknown < 0) {
                    throw new InferenceException("cannot encode U+%04X: the vocabulary has no byte token <0x%02X> and no "
                            .formatted(codePoint, b & 0xFF) + "unknown token");
                }
                out.add(unknown);
                return;
            }
        }
        for (byte b : utf8) {
            out.add(byteTokens[b & 0xFF]);
        }
    }

    @Override
    public byte[] tokenBytes(int token) {
        checkId(token);
        return pieceBytes[token].clone();
    }

    /**
     * The bytes {@code token} contributes after {@code previous} (-1 at the start): its
     * piece without the leading space when the model adds a dummy prefix and the token
     * starts the text (follows nothing or a control token such as BOS).
     */
    byte[] tokenBytes(int previous, int token) {
        checkId(token);
        byte[] bytes = pieceBytes[token];
        boolean atStart = previous < 0 || pieceBytes[previous].length == 0;
        if (options.spacePrefix() && atStart && types[token] != BYTE && bytes.length > 0 && bytes[0] == ' ') {
            return Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        return bytes.clone();
    }

    @Override
    public String decode(int[] tokens) {
        var out = new ByteArrayOutputStream();
        for (int token : tokens) {
            checkId(token);
            out.writeBytes(pieceBytes[token]);
        }
        byte[] bytes = out.toByteArray();
        int skip = options.spacePrefix() && bytes.length > 0 && bytes[0] == ' ' ? 1 : 0;
        return new String(bytes, skip, bytes.length - skip, StandardCharsets.UTF_8);
    }

    private void checkId(int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary of " + pieces.length);
        }
    }
}
