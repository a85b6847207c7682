package io.gpud.inference;

import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Chooses the next token from the logits, as {@link Sampling} says. Greedy sampling is the
 * argmax with ties going to the lowest id, so it is deterministic bit for bit. Otherwise the
 * logits are divided by the temperature, cut to the {@code topK} most likely tokens, turned
 * into probabilities by a softmax, cut to the smallest prefix (most likely first) whose
 * probability reaches {@code topP}, and one token is drawn from what is left with a
 * {@link SplittableRandom} seeded from the request, so a seed replays the same tokens.
 *
 * <p>With a {@link TokenConstraint}, the token comes from the distribution above restricted
 * to the tokens the constraint allows. Without truncation (greedy, or {@code topK} 0 and
 * {@code topP} 1) the sampler draws first and masks only when the constraint refuses what
 * it drew, then draws again from the masked logits: for greedy that is the argmax over the
 * allowed tokens, and for sampling the two draws together give each allowed token
 * probability p / (1 - p(refused)), which is the masked distribution exactly, while a
 * constraint that agrees with the model costs one {@link TokenConstraint#allows} call. With
 * {@code topK} or {@code topP} truncation the sampler masks first and truncates after, so
 * the truncation keeps the most likely <em>allowed</em> tokens (drawing first would make
 * the result depend on how many refused tokens the truncation had kept).
 * One sampler per sequence; not thread-safe.
 */
final class Sampler {
    private final Sampling sampling;
    private final SplittableRandom random;

    Sampler(Sampling sampling) {
        this.sampling = sampling;
        this.random = new SplittableRandom(sampling.seed());
    }

    /** The next token; leaves {@code logits} as they are. */
    int sample(float[] logits) {
        return draw(logits);
    }

    /**
     * The next token among those {@code constraint} allows (any token when it is null). The
     * only change to {@code logits} is the constraint's mask, when it is applied.
     *
     * @throws IllegalStateException when the constraint's mask leaves no token it allows
     */
    int sample(float[] logits, TokenConstraint constraint) {
        if (constraint == null) {
            return draw(logits);
        }
        if (!truncates()) {
            int token = draw(logits);
            if (constraint.allows(token)) {
                return token;
            }
        }
        constraint.mask(logits);
        int token = draw(logits);
        if (!constraint.allows(token)) {
            throw new IllegalStateException("the token constraint allows no token: after its mask the sampler chose "
                    + token + ", which it refuses");
        }
        return token;
    }

    /** Whether {@code topK} or {@code topP} cut the candidates before the draw. */
    private boolean truncates() {
        return !sampling.isGreedy() && (sampling.topK() > 0 || sampling.topP() < 1f);
    }

    private int draw(float[] logits) {
        if (sampling.isGreedy()) {
            return argmax(logits);
        }
        int n = logits.length;
        float inverseTemperature = 1f / sampling.temperature();
        boolean truncate = (sampling.topK() > 0 && sampling.topK() < n) || sampling.topP() < 1f;
        int[] order = truncate ? byDescendingLogit(logits) : null;
        int candidates = sampling.topK() > 0 ? Math.min(sampling.topK(), n) : n;

        // softmax over the candidates, in double for a stable sum
        float max = truncate ? logits[order[0]] : logits[argmax(logits)];
        double[] probabilities = new double[candidates];
        double sum = 0;
        for (int i = 0; i < candidates; i++) {
            int id = truncate ? order[i] : i;
            probabilities[i] = Math.exp((logits[id] - max) * inverseTemperature);
            sum += probabilities[i];
        }
        if (sampling.topP() < 1f) {
            double cumulative = 0;
            for (int i = 0; i < candidates; i++) {
                cumulative += probabilities[i] / sum;
                if (cumulative >= sampling.topP()) {
                    candidates = i + 1;
                    break;
                }
            }
            sum = 0;
            for (int i = 0; i < candidates; i++) {
                sum += probabilities[i];
            }
        }
        double coin = random.nextDouble() * sum;
        double cdf = 0;
        for (int i = 0; i < candidates; i++) {
            cdf += probabilities[i];
            if (coin < cdf) {
                return truncate ? order[i] : i;
            }
        }
        return truncate ? order[candidates - 1] : candidates - 1;
    }

    /**
     * The index of the largest logit; the lowest index among equals. On vectors: the maximum,
     * then the first index holding it; with a NaN among the logits, the scalar loop decides.
     */
    static int argmax(float[] logits) {
        VectorSpecies<Float> floats = FloatTensor.FLOATS;
        int lanes = floats.length();
        int n = logits.length;
        if (n >= lanes) {
            FloatVector m = FloatVector.fromArray(floats, logits, 0);
            int i = lanes;
            for (; i + lanes <= n; i += lanes) {
                m = m.max(FloatVector.fromArray(floats, logits, i));
            }
            float max = m.reduceLanes(VectorOperators.MAX);
            for (; i < n; i++) {
                max = Math.max(max, logits[i]);
            }
            int j = 0;
            for (; j + lanes <= n; j += lanes) {
                VectorMask<Float> hit = FloatVector.fromArray(floats, logits, j).eq(max);
                if (hit.anyTrue()) {
                    return j + hit.firstTrue();
                }
            }
            for (; j < n; j++) {
                if (logits[j] == max) {
                    return j;
                }
            }
        }
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * The log-probabilities of {@code token} and of the {@code top} most likely tokens (ties
     * to the lower id) under the softmax of {@code logits} at temperature 1. Tokens of
     * probability zero (masked to negative infinity) are never among the alternatives, so
     * there are fewer than {@code top} where fewer tokens are possible.
     */
    static TokenLogprobs logprobs(float[] logits, int token, int top) {
        float max = logits[argmax(logits)];
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        double logNormalizer = max + Math.log(sum);
        int[] best = new int[top];
        int found = 0;
        for (int id = 0; id < logits.length && top > 0; id++) {
            float logit = logits[id];
            if (logit == Float.NEGATIVE_INFINITY || Float.isNaN(logit)
                    || (found == top && !(logit > logits[best[top - 1]]))) {
                continue;
            }
            int at = found < top ? found++ : top - 1;
            while (at > 0 && logit > logits[best[at - 1]]) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = id;
        }
        int[] topTokens = Arrays.copyOf(best, found);
        float[] topLogprobs = new float[found];
        for (int i = 0; i < found; i++) {
            topLogprobs[i] = (float) (logits[topTokens[i]] - logNormalizer);
        }
        return new TokenLogprobs(token, (float) (logits[token] - logNormalizer), topTokens, topLogprobs);
    }

    /** Token ids sorted by logit, largest first, ties by lower id. */
    private static int[] byDescendingLogit(float[] logits) {
        long[] keys = new long[logits.length];
        for (int id = 0; id < logits.length; id++) {
            int bits = Float.floatToIntBits(logits[id]);
            int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed int order = float order
            keys[id] = ((long) ~ordered << 32) | id;
        }
        Arrays.sort(keys);
        int[] order = new int[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }
}
