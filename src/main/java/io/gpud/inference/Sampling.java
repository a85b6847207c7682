package io.gpud.inference;

/**
 * How the next token is chosen from the logits.
 *
 * @param temperature 0 is greedy (argmax, deterministic bit for bit); otherwise logits are
 *                    divided by it before the softmax
 * @param topP        nucleus sampling: keep the smallest set of tokens whose probability
 *                    sums to at least this; 1 disables it
 * @param topK        keep only the k most likely tokens; 0 disables it
 * @param seed        seed of the sampler's random generator
 */
public record Sampling(float temperature, float topP, int topK, long seed) {

    public Sampling {
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature was " + temperature + ", must be >= 0");
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("topP was " + topP + ", must be in (0, 1]");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK was " + topK + ", must be >= 0");
        }
    }

    /** Argmax at every step. */
    public static Sampling greedy() {
        return new Sampling(0f, 1f, 0, 0L);
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }
}
