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
}
