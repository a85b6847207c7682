package io.gpud.inference;

/**
 * What {@link EngineScheduler} queues and batches: a generation ({@link SequenceRun}) or an
 * embedding ({@link EmbeddingRun}). Both run a prompt through the backend and hold a KV
 * cache while they do; a generation then goes on one token per step. Used by one scheduler
 * thread, except {@link #cancel}, which any thread may call.
 */
sealed interface Run extends Generation permits SequenceRun, EmbeddingRun {

    /** The tokens the backend runs first, in position order. */
    int[] promptTokens();

    /** How it may use the engine's prefix cache. */
    PrefixCache.Use cacheUse();

    /** The names of its prompt's whole blocks as a router computed them, or null ({@link GenerationRequest#prefixNames}). */
    default long[] prefixNames() {
        return null;
    }

    /** Positions its KV cache holds, at most {@code limit}. */
    int cachePositions(int limit);

    boolean cancelled();

    /**
     * The run enters the batch with a cache of {@code capacity} positions, whose first
     * {@code reusedTokens} prompt positions came from the prefix cache.
     */
    void start(int capacity, int reusedTokens, long nowNanos);

    /**
     * Ends the run with {@code reason}, once: a generation's listener hears the completion;
     * an embedding, which ends without a vector, hears a failure naming the reason.
     */
    void finish(FinishReason reason, long nowNanos);

    /** Ends the run with a failure, once. */
    void fail(RuntimeException error);
}
