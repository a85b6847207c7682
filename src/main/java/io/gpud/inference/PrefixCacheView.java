package io.gpud.inference;

import java.util.function.LongConsumer;

/**
 * What the rest of the node sees of an engine's prefix cache ({@link PrefixCache}): how it
 * names blocks, its counters, and the block names it has started or stopped holding since
 * last asked (what the node publishes to its peers for cache-affinity routing). Any thread.
 */
public interface PrefixCacheView {

    /** The seed of this model's block names ({@link PrefixHashes#seed}). */
    long seed();

    /** Tokens per block. */
    int blockTokens();

    /** The counters, as of now. */
    Stats stats();

    /**
     * Hands over, and forgets, the names announced since the last call: {@code held} gets
     * each block that became the deepest held block of a prompt or of a finished sequence
     * (holding it implies holding every block before it), {@code dropped} each announced
     * block since evicted. At most {@link PrefixCache#ANNOUNCEMENTS} of each wait; older
     * ones are dropped first.
     */
    void drainAnnouncements(LongConsumer held, LongConsumer dropped);

    /**
     * @param lookups      sequences that looked for a cached prefix
     * @param promptTokens prompt tokens of those sequences
     * @param hitTokens    prompt tokens whose keys and values came from the cache
     * @param evictions    cached blocks evicted to make room
     * @param blocksInUse  blocks held by running sequences
     * @param blocksCached blocks held by no sequence, kept for reuse until evicted
     * @param blocks       blocks in all
     */
    record Stats(long lookups, long promptTokens, long hitTokens, long evictions, int blocksInUse,
                 int blocksCached, int blocks) {
    }
}
