package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static float[] randomLogits(long seed, int n) {
        var random = new SplittableRandom(seed);
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = (float) random.nextGaussian() * 3;
        }
        return logits;
    }

    @Test
    void greedyTakesTheLargestAndTheLowestIdOnTies() {
        var sampler = new Sampler(Sampling.greedy());
        assertEquals(2, sampler.sample(new float[] {0f, 1f, 5f, 5f, -1f}));
        assertEquals(0, sampler.sample(new float[] {3f, 3f, 3f}));
    }

    @Test
    void argmaxOnVectorsAgreesWithTheScalarDefinition() {
        var random = new SplittableRandom(7);
        for (int trial = 0; trial < 500; trial++) {
            int n = random.nextInt(1, 200);
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                logits[i] = random.nextInt(-4, 5) * 0.5f; // few distinct values: many ties
            }
            if (trial % 50 == 0) {
                logits[random.nextInt(n)] = -0.0f;
            }
            if (trial % 7 == 0) {
                logits[random.nextInt(n)] = Float.NaN;
            }
            int expected = 0;
            for (int i = 1; i < n; i++) {
                if (logits[i] > logits[expected]) {
                    expected = i;
                }
            }
            assertEquals(expected, Sampler.argmax(logits), "trial " + trial + ", " + n + " logits");
        }
    }

    @Test
    void sameSeedSameTokens() {
        var sampling = new Sampling(1.0f, 0.9f, 40, 1234);
        var first = new Sampler(sampling);
        var second = new Sampler(sampling);
        var other = new Sampler(new Sampling(1.0f, 0.9f, 40, 99));
        var a = new int[200];
        var b = new int[200];
        var c = new int[200];
        for (int step = 0; step < 200; step++) {
            a[step] = first.sample(randomLogits(step, 512));
            b[step] = second.sample(randomLogits(step, 512));
            c[step] = other.sample(randomLogits(step, 512));
        }
        assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(c));
    }

    @Test
    void topKOneAndTinyTopPAreArgmax() {
        for (long seed = 0; seed < 50; seed++) {
            float[] logits = randomLogits(seed, 100);
            int argmax = Sampler.argmax(logits);
            assertEquals(argmax, new Sampler(new Sampling(2f, 1f, 1, seed)).sample(logits.clone()));
            assertEquals(argmax, new Sampler(new Sampling(2f, 1e-6f, 0, seed)).sample(logits.clone()));
        }
    }

    @Test
    void topKKeepsOnlyTheKMostLikely() {
        float[] logits = {5f, 4f, 3f, 0f, 0f, 0f};
        var sampler = new Sampler(new Sampling(10f, 1f, 3, 7));
        for (int i = 0; i < 500; i++) {
            assertTrue(sampler.sample(logits.clone()) < 3);
        }
    }

    @Test
    void temperatureSamplingFollowsTheDistribution() {
        float[] logits = {0f, (float) Math.log(3)};
        var sampler = new Sampler(new Sampling(1f, 1f, 0, 3));
        int ones = 0;
        for (int i = 0; i < 4000; i++) {
            ones += sampler.sample(logits.clone());
        }
        assertTrue(ones > 2800 && ones < 3200, "token 1 has probability 0.75, drawn " + ones + " of 4000");
    }

    /** Allows the tokens of a fixed set; counts its calls. */
    private static class SetConstraint implements TokenConstraint {
        final java.util.BitSet allowed;
        int masks;

        SetConstraint(int... tokens) {
            allowed = new java.util.BitSet();
            for (int token : tokens) {
                allowed.set(token);
            }
        }

        @Override
        public boolean allows(int token) {
            return allowed.get(token);
        }

        @Override
        public void mask(float[] logits) {
            masks++;
            for (int i = 0; i < logits.length; i++) {
                if (!allowed.get(i)) {
                    logits[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }

        @Override
        public void accept(int token) {
        }
    }

    @Test
    void greedyUnderAConstraintIsTheArgmaxOfTheAllowedTokens() {
        var sampler = new Sampler(Sampling.greedy());
        for (long seed = 0; seed < 50; seed++) {
            float[] logits = randomLogits(seed, 300);
            var evens = new SetConstraint(java.util.stream.IntStream.range(0, 150).map(i -> 2 * i).toArray());
            int expected = 0;
            for (int i = 2; i < logits.length; i += 2) {
                if (logits[i] > logits[expected]) {
                    expected = i;
                }
            }
            int argmax = Sampler.argmax(logits);
            assertEquals(expected, sampler.sample(logits.clone(), evens));
            assertEquals(argmax % 2 == 0 ? 0 : 1, evens.masks, "masks only when the argmax is refused");
        }
    }

    @Test
    void untruncatedSamplingUnderAConstraintFollowsTheMaskedDistribution() {
        // p = (0.1, 0.2, 0.3, 0.4); token 3 refused, so the allowed ones have 1/6, 2/6, 3/6
        float[] logits = {(float) Math.log(1), (float) Math.log(2), (float) Math.log(3), (float) Math.log(4)};
        var sampler = new Sampler(new Sampling(1f, 1f, 0, 11));
        var constraint = new SetConstraint(0, 1, 2);
        int[] counts = new int[4];
        int draws = 12000;
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logits.clone(), constraint)]++;
        }
        assertEquals(0, counts[3]);
        for (int token = 0; token < 3; token++) {
            double expected = draws * (token + 1) / 6.0;
            assertTrue(Math.abs(counts[token] - expected) < 4 * Math.sqrt(expected),
                    "token " + token + " drawn " + counts[token] + " times, expected about " + expected);
        }
        assertTrue(constraint.masks > 0.3 * draws && constraint.masks < 0.5 * draws,
                "masks only after a refused draw (p 0.4): " + constraint.masks);
    }

    @Test
    void truncationUnderAConstraintKeepsTheMostLikelyAllowedTokens() {
        // the two most likely tokens are refused: top-k 2 must draw among tokens 2 and 3
        float[] logits = {9f, 8f, 1f, 0f, -1f, -2f};
        var topK = new Sampler(new Sampling(1f, 1f, 2, 5));
        var topP = new Sampler(new Sampling(1f, 0.5f, 0, 5));
        var constraint = new SetConstraint(2, 3, 4, 5);
        int[] counts = new int[6];
        for (int i = 0; i < 4000; i++) {
            counts[topK.sample(logits.clone(), constraint)]++;
            assertEquals(2, topP.sample(logits.clone(), constraint), "token 2 alone holds half the allowed mass");
        }
        assertEquals(0, counts[0] + counts[1] + counts[4] + counts[5]);
        double share = counts[2] / 4000.0; // e / (e + 1) = 0.731
        assertTrue(share > 0.70 && share < 0.76, "token 2 drawn " + counts[2] + " of 4000");
    }

    @Test
    void aMaskThatAllowsNothingFailsClearly() {
        var broken = new SetConstraint() {
            @Override
            public boolean allows(int token) {
                return false;
            }
        };
        var error = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> new Sampler(Sampling.greedy()).sample(new float[] {1f, 2f}, broken));
        assertTrue(error.getMessage().contains("allows no token"), error.getMessage());
    }
}
