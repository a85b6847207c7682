package io.gpud.inference;

import java.nio.charset.StandardCharsets;

/**
 * The names of prompt blocks: block {@code i} of a token sequence (tokens
 * {@code [i·B, (i+1)·B)}, B the block size) is named by a 64-bit hash chained over the
 * tokens before it, {@code h(i) = next(h(i − 1), block i)}, starting from a seed that
 * names the model. Two sequences share block {@code i}'s name only when they share every
 * token up to its end (up to a collision, which the engine rules out by comparing the
 * tokens before it reuses anything; see {@link PrefixCache}). Every node computes the same
 * names for the same model and tokens, so a router can ask which host holds a request's
 * prefix ({@code routing}), and a forwarded request can carry its names.
 *
 * <p>The mixing is a multiply-rotate per token and a final avalanche (the 64-bit finaliser
 * of MurmurHash3): fast (about a nanosecond per token) and well spread, not cryptographic.
 */
public final class PrefixHashes {
    private static final long MULTIPLIER = 0x9E3779B97F4A7C15L;
    private static final long ROUND = 0xC2B2AE3D27D4EB4FL;

    private PrefixHashes() {
    }

    /**
     * The seed of a model's chains: the same on every node serving the same weights under
     * the same name (name, architecture, size and quantization; not the load time).
     */
    public static long seed(ModelInfo model) {
        String identity = model.name() + '\0' + model.architecture() + '\0' + model.parameters() + '\0'
                + model.weightType() + '\0' + model.sizeBytes() + '\0' + model.vocabSize();
        long h = 0x243F6A8885A308D3L;
        for (byte b : identity.getBytes(StandardCharsets.UTF_8)) {
            h = Long.rotateLeft((h ^ (b & 0xFF)) * MULTIPLIER, 31);
        }
        return avalanche(h);
    }

    /** The name of the block {@code tokens[from, from + blockTokens)} that follows the block named {@code parent}. */
    public static long next(long parent, int[] tokens, int from, int blockTokens) {
        long h = parent;
        for (int i = from; i < from + blockTokens; i++) {
            h = Long.rotateLeft((h ^ (tokens[i] & 0xFFFFFFFFL)) * MULTIPLIER, 27) * ROUND;
        }
        return avalanche(h ^ blockTokens);
    }

    /**
     * The names of the whole blocks among {@code tokens[0, length)}: {@code length / blockTokens}
     * of them, the first chained from {@code seed}.
     */
    public static long[] of(long seed, int[] tokens, int length, int blockTokens) {
        if (blockTokens < 1) {
            throw new IllegalArgumentException("blockTokens was " + blockTokens + ", must be at least 1");
        }
        if (length < 0 || length > tokens.length) {
            throw new IllegalArgumentException("length was " + length + ", must be 0 to " + tokens.length);
        }
        long[] names = new long[length / blockTokens];
        long h = seed;
        for (int i = 0; i < names.length; i++) {
            h = next(h, tokens, i * blockTokens, blockTokens);
            names[i] = h;
        }
        return names;
    }

    private static long avalanche(long h) {
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h;
    }
}
