package io.gpud.grammar;

import io.gpud.inference.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A small vocabulary with what real ones have: an end token and two control tokens with no
 * bytes ({@code <s>} and {@code [TOOL_CALLS]}), every single byte, and multi-byte pieces
 * that cross JSON's structure ({@code "},{"}, {@code ": }), cut UTF-8 sequences in half and
 * carry whitespace runs. Encoding is greedy longest match.
 */
final class SimTokenizer implements Tokenizer {
    static final int EOS = 0;
    static final int BOS = 1;
    static final int TOOL_CALLS = 2;
    static final String TOOL_CALLS_TEXT = "[TOOL_CALLS]";
    private static final int FIRST_BYTE = 3;
    private static final List<String> PIECES = List.of("{\"", "\":", "\": ", "\", \"", "\"}", "\"},{\"", "\n  ",
            "\n    ", "  ", "true", "false", "null", "name", "age", "tags", "city", "unit", "celsius", "12", "345",
            "0.5", "-1", "e+", "[]", "{}", "[{", "}]", "\\n", "\\u00", "\\\"", "é", "名", "前", "😀", "hello", " world",
            "date", "2024-", "-0", "Z\"", "T1", ":00", "abc", "def", "0123", "4567", "89ab", "cdef", "kind", "circle",
            "square", "\"kind\":\"", "1,", "], ", "\",\"");

    private final List<byte[]> tokens = new ArrayList<>();

    SimTokenizer() {
        tokens.add(new byte[0]);
        tokens.add(new byte[0]);
        tokens.add(new byte[0]);
        for (int b = 0; b < 256; b++) {
            tokens.add(new byte[] {(byte) b});
        }
        for (String piece : PIECES) {
            tokens.add(piece.getBytes(StandardCharsets.UTF_8));
        }
        byte[] smile = "😀".getBytes(StandardCharsets.UTF_8);
        tokens.add(new byte[] {smile[0], smile[1]}); // half a code point
        tokens.add(new byte[] {smile[2], smile[3], '"'});
    }

    @Override
    public int vocabSize() {
        return tokens.size();
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        var ids = new ArrayList<Integer>();
        if (addBos) {
            ids.add(BOS);
        }
        byte[] all = text.getBytes(StandardCharsets.UTF_8);
        byte[] special = TOOL_CALLS_TEXT.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < all.length; ) {
            if (parseSpecial && startsWith(all, i, special)) {
                ids.add(TOOL_CALLS);
                i += special.length;
                continue;
            }
            int best = FIRST_BYTE + (all[i] & 0xFF);
            int bestLength = 1;
            for (int id = FIRST_BYTE + 256; id < tokens.size(); id++) {
                byte[] t = tokens.get(id);
                if (t.length > bestLength && startsWith(all, i, t)) {
                    best = id;
                    bestLength = t.length;
                }
            }
            ids.add(best);
            i += bestLength;
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean startsWith(byte[] all, int at, byte[] part) {
        if (at + part.length > all.length) {
            return false;
        }
        for (int k = 0; k < part.length; k++) {
            if (all[at + k] != part[k]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int bos() {
        return BOS;
    }

    @Override
    public int eos() {
        return EOS;
    }

    @Override
    public boolean isEndOfGeneration(int token) {
        return token == EOS;
    }

    @Override
    public byte[] tokenBytes(int token) {
        return tokens.get(token).clone();
    }

    @Override
    public String decode(int[] ids) {
        var out = new ByteArrayOutputStream();
        for (int id : ids) {
            out.writeBytes(tokens.get(id));
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
