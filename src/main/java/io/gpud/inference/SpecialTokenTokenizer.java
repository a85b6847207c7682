package io.gpud.inference;

import io.gpud.model.GgufFile;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What every tokenizer knows about its special ids: BOS, EOS (-1 when absent) and the
 * tokens that end a generation. Implementations extend this and add text handling.
 */
abstract class SpecialTokenTokenizer implements Tokenizer {
    final int bos;
    final int eos;
    private final Set<Integer> endTokens;

    SpecialTokenTokenizer(int bos, int eos, Set<Integer> endTokens) {
        this.bos = bos;
        this.eos = eos;
        this.endTokens = Set.copyOf(endTokens);
    }

    @Override
    public final int bos() {
        return bos;
    }

    @Override
    public final int eos() {
        return eos;
    }

    @Override
    public final boolean isEndOfGeneration(int token) {
        return endTokens.contains(token);
    }

    /**
     * BOS and EOS from GGUF metadata, and the tokens that end a generation: EOS, the
     * end-of-turn and end-of-message tokens the file names ({@code eot_token_id},
     * {@code eom_token_id}), and the end-of-turn tokens of the chat formats its vocabulary
     * carries (files converted before those keys existed name only EOS, e.g. a Gemma whose
     * EOS is {@code <eos>} but whose turns end with {@code <end_of_turn>}).
     */
    record GgufSpecials(int bos, int eos, Set<Integer> ends) {
        static GgufSpecials of(GgufFile gguf) {
            int bos = gguf.getInt("tokenizer.ggml.bos_token_id", -1);
            int eos = gguf.getInt("tokenizer.ggml.eos_token_id", -1);
            var ends = new HashSet<Integer>();
            if (eos >= 0) {
                ends.add(eos);
            }
            for (String key : List.of("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id")) {
                if (gguf.has(key) && gguf.getInt(key) >= 0) {
                    ends.add(gguf.getInt(key));
                }
            }
            if (gguf.has("tokenizer.ggml.tokens")) {
                ends.addAll(ByteLevelBpeTokenizer.endOfTurnTokens(gguf.getStrings("tokenizer.ggml.tokens")));
            }
            return new GgufSpecials(bos, eos, Set.copyOf(ends));
        }
    }
}
