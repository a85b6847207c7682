package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TokenCountsTest {

    /** The penalties applied from scratch: the window recounted, every token visited, as llama.cpp writes them. */
    static float[] penalisedFromScratch(float[] logits, int[] context, int length, Penalties penalties) {
        int from = penalties.lastN() < 0 ? 0 : Math.max(0, length - penalties.lastN());
        int[] counts = new int[logits.length];
        for (int i = from; i < length; i++) {
            counts[context[i]]++;
        }
        float[] out = logits.clone();
        for (int token = 0; token < out.length; token++) {
            int count = counts[token];
            if (count == 0) {
                continue;
            }
            if (out[token] <= 0) {
                out[token] *= penalties.repetition();
            } else {
                out[token] /= penalties.repetition();
            }
            out[token] -= count * penalties.frequency() + (count > 0 ? 1 : 0) * penalties.presence();
        }
        return out;
    }

    @Test
    void incrementalCountsPenaliseExactlyAsARecountOfTheWindow() {
        var random = new SplittableRandom(5);
        for (int lastN : new int[] {1, 3, 17, 64, -1}) {
            var penalties = new Penalties(0.7f, 0.3f, 1.3f, lastN);
            int vocab = 40;
            var counts = new TokenCounts(penalties, vocab);
            int[] context = new int[500];
            for (int t = 0; t < context.length; t++) {
                context[t] = random.nextInt(t % 100 < 50 ? 5 : vocab); // stretches of few tokens, then many
                counts.add(context[t]);
                float[] logits = new float[vocab];
                for (int i = 0; i < vocab; i++) {
                    logits[i] = (float) random.nextGaussian() * 4;
                }
                float[] expected = penalisedFromScratch(logits, context, t + 1, penalties);
                counts.apply(logits);
                assertArrayEquals(expected, logits, "lastN " + lastN + ", after " + (t + 1) + " tokens");
            }
        }
    }

    @Test
    void countsForgetTheTokensThatLeftTheWindow() {
        var counts = new TokenCounts(new Penalties(1f, 0f, 1f, 2), 10);
        counts.add(4);
        counts.add(4);
        assertEquals(2, counts.count(4));
        counts.add(5);
        assertEquals(1, counts.count(4));
        counts.add(6);
        assertEquals(0, counts.count(4));
        float[] logits = new float[10];
        counts.apply(logits);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, -1, -1, 0, 0, 0}, logits);
    }

    @Test
    void penaltiesThatChangeNothingNeedNoCounts() {
        assertThrows(IllegalArgumentException.class, () -> new TokenCounts(Penalties.NONE, 10));
        assertThrows(IllegalArgumentException.class, () -> new TokenCounts(new Penalties(2f, 2f, 3f, 0), 10));
    }
}
