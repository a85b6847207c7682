package io.gpud.inference;

import io.gpud.model.GgufFile;
import io.gpud.model.Llama2cTokenizerFile;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sentencepiece-style tokenizer, encoding as llama2.c's {@code run.c} does: a dummy
 * prefix space before non-empty text, then one token per code point (or its UTF-8 bytes as
 * {@code <0xXX>} byte tokens when the code point is not in the vocabulary), then greedy
 * merges — repeatedly replace the adjacent pair whose concatenation is the highest-scoring
 * piece (leftmost on ties) until no pair merges.
 *
 * <p>Pieces are stored with spaces as {@code ' '} (GGUF's {@code '▁'} is converted on load).
 * Decoding gives each token's bytes: a byte token its byte, a control token nothing, and
 * drops the leading space of a piece that follows BOS or starts the sequence (the dummy
 * prefix), as sentencepiece's decoder does.
 */
final class SentencePieceTokenizer extends SpecialTokenTokenizer {
    /** GGUF {@code tokenizer.ggml.token_type} values. */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    private final String[] pieces;          // (vocab) token text, spaces as ' '
    private final byte[][] pieceBytes;      // (vocab) UTF-8 of the piece, or the single byte of a byte token
    private final float[] scores;           // (vocab) merge priority
    private final int[] types;              // (vocab) GGUF token type
    private final Map<String, Integer> textToId; // pieces text can turn into (no control/byte/unused)
    private final int[] byteTokens;         // (256) id of <0xXX>, or -1

    SentencePieceTokenizer(List<String> pieces, float[] scores, int[] types, int bos, int eos, Set<Integer> endTokens) {
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
        this.scores = scores.clone();
        this.types = types.clone();
        this.pieceBytes = new byte[n][];
        this.byteTokens = new int[256];
        Arrays.fill(byteTokens, -1);
        this.textToId = new HashMap<>(n * 2);
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
            } else {
                pieceBytes[id] = piece.getBytes(StandardCharsets.UTF_8);
                textToId.putIfAbsent(piece, id);
            }
        }
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

    /** From GGUF {@code tokenizer.ggml.*} metadata of model type {@code llama}. */
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
        var special = GgufSpecials.of(gguf);
        return new SentencePieceTokenizer(pieces, scores, types, special.bos(), special.eos(), special.ends());
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
    public int[] encode(String text, boolean addBos) {
        var tokens = new ArrayList<Integer>(text.length() + 2);
        if (!text.isEmpty()) {
            appendCodePoint(tokens, " ");
        }
        text.codePoints().forEach(cp -> appendCodePoint(tokens, Character.toString(cp)));
        mergePairs(tokens);
        int offset = addBos && bos >= 0 ? 1 : 0;
        int[] result = new int[tokens.size() + offset];
        if (offset == 1) {
            result[0] = bos;
        }
        for (int i = 0; i < tokens.size(); i++) {
            result[i + offset] = tokens.get(i);
        }
        return result;
    }

    private void appendCodePoint(List<Integer> tokens, String codePoint) {
        Integer id = textToId.get(codePoint);
        if (id != null) {
            tokens.add(id);
            return;
        }
        for (byte b : codePoint.getBytes(StandardCharsets.UTF_8)) {
            int byteToken = byteTokens[b & 0xFF];
            if (byteToken < 0) {
                throw new InferenceException("cannot encode byte 0x%02X of '%s': the vocabulary has no byte token <0x%02X>"
                        .formatted(b & 0xFF, codePoint, b & 0xFF));
            }
            tokens.add(byteToken);
        }
    }

    private void mergePairs(List<Integer> tokens) {
        while (true) {
            float bestScore = Float.NEGATIVE_INFINITY;
            int bestId = -1;
            int bestIndex = -1;
            for (int i = 0; i + 1 < tokens.size(); i++) {
                Integer merged = textToId.get(pieces[tokens.get(i)] + pieces[tokens.get(i + 1)]);
                if (merged != null && scores[merged] > bestScore) {
                    bestScore = scores[merged];
                    bestId = merged;
                    bestIndex = i;
                }
            }
            if (bestIndex < 0) {
                return;
            }
            tokens.set(bestIndex, bestId);
            tokens.remove(bestIndex + 1);
        }
    }

    @Override
    public byte[] tokenBytes(int token) {
        checkId(token);
        return pieceBytes[token].clone();
    }

    /**
     * The bytes {@code token} contributes after {@code previous} (-1 at the start): its
     * piece without the leading space when it follows BOS or starts the sequence.
     */
    byte[] tokenBytes(int previous, int token) {
        checkId(token);
        byte[] bytes = pieceBytes[token];
        boolean atStart = previous < 0 || previous == bos;
        if (atStart && types[token] != BYTE && bytes.length > 0 && bytes[0] == ' ') {
            return Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        return bytes.clone();
    }

    @Override
    public String decode(int[] tokens) {
        var out = new ByteArrayOutputStream();
        int previous = -1;
        for (int token : tokens) {
            out.writeBytes(tokenBytes(previous, token));
            previous = token;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private void checkId(int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary of " + pieces.length);
        }
    }
}
