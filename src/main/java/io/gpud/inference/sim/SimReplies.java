package io.gpud.inference.sim;

import io.gpud.inference.InferenceException;
import io.gpud.inference.PrefixHashes;
import io.gpud.inference.Tokenizer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The made-up replies of the simulated GPU: the token after each position is drawn from the
 * vocabulary's plain text tokens (words, letters, digits and simple punctuation; never an
 * end-of-generation, control or special token) by a hash of the prompt and the position, so
 * the same prompt always gets the same reply and a reply never ends early: it is as long as
 * the request's {@code max_tokens} (or ends at one of its stop sequences). The token reaches
 * the sampler as logits with one large value, so penalties, stop sequences, grammars and
 * log-probabilities run as on a real model.
 */
final class SimReplies {
    /** The chosen token's logit; every other one is 0, so no temperature or penalty can pick another. */
    static final float CHOSEN_LOGIT = 1000f;
    private static final String PUNCTUATION = ".,;:!?'-";
    private static final long SEED = 0x5EED_51A1_7E57_C0DEL;

    private final int[] textTokens;
    private final int vocabSize;
    private final List<float[]> logits = new ArrayList<>(); // one per sequence of a step, reused

    /** @throws InferenceException when the vocabulary has no token a reply could be made of */
    SimReplies(Tokenizer tokenizer) {
        this.vocabSize = tokenizer.vocabSize();
        int[] text = textTokens(tokenizer);
        if (text.length == 0) {
            text = anyTokens(tokenizer);
        }
        if (text.length == 0) {
            throw new InferenceException("the simulated GPU needs a token that does not end a generation, and "
                    + "every one of the " + vocabSize + " tokens does");
        }
        this.textTokens = text;
    }

    /** What a sequence's reply is drawn from: the same prompt, the same reply. */
    static long seed(int[] prompt) {
        return PrefixHashes.next(SEED, prompt, 0, prompt.length);
    }

    /** The token that follows {@code position} in the reply of the sequence seeded {@code seed}. */
    int tokenAfter(long seed, int position) {
        long h = seed + (position + 1L) * 0x9E3779B97F4A7C15L; // SplitMix64's step and finaliser
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        return textTokens[(int) Long.remainderUnsigned(h ^ (h >>> 31), textTokens.length)];
    }

    /**
     * Logits that make the sampler pick {@code token}: the {@code slot}-th array of this
     * step's outputs, reused from step to step and cleared of what the sampler left in it.
     */
    float[] logits(int slot, int token) {
        while (logits.size() <= slot) {
            logits.add(new float[vocabSize]);
        }
        float[] values = logits.get(slot);
        Arrays.fill(values, 0f);
        values[token] = CHOSEN_LOGIT;
        return values;
    }

    /** Plain text tokens: non-empty valid UTF-8 of letters, digits, spaces and simple punctuation. */
    private static int[] textTokens(Tokenizer tokenizer) {
        try {
            tokenizer.tokenBytes(0);
        } catch (RuntimeException e) {
            return new int[0]; // a tokenizer of ids only: no token has text
        }
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        var tokens = new ArrayList<Integer>();
        for (int t = 0; t < tokenizer.vocabSize(); t++) {
            if (ends(tokenizer, t)) {
                continue;
            }
            byte[] bytes = tokenizer.tokenBytes(t);
            if (bytes.length == 0) {
                continue;
            }
            try {
                if (plain(decoder.decode(ByteBuffer.wrap(bytes)))) {
                    tokens.add(t);
                }
            } catch (CharacterCodingException e) {
                // part of a character: not text on its own
            }
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Every token that does not end a generation, for a vocabulary without text. */
    private static int[] anyTokens(Tokenizer tokenizer) {
        var tokens = new ArrayList<Integer>();
        for (int t = 0; t < tokenizer.vocabSize(); t++) {
            if (!ends(tokenizer, t)) {
                tokens.add(t);
            }
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean ends(Tokenizer tokenizer, int token) {
        return tokenizer.isEndOfGeneration(token) || token == tokenizer.eos() || token == tokenizer.bos();
    }

    private static boolean plain(CharSequence text) {
        if (text.isEmpty()) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isLetterOrDigit(c) && c != ' ' && PUNCTUATION.indexOf(c) < 0) {
                return false;
            }
        }
        return true;
    }
}
