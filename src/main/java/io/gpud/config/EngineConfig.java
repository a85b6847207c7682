package io.gpud.config;

/**
 * The inference engine's limits.
 *
 * @param queueCapacity    requests admitted but not started, at most; beyond it a request
 *                         is refused with 429 and {@code Retry-After} rather than queued
 *                         without bound. Raising it trades latency for fewer refusals
 * @param maxConcurrent    sequences generating at once. Each holds a KV cache of
 *                         {@code 2 × layers × contextLength × kvDim × 4} bytes
 * @param threads          threads one forward step may use; 1 is best for tiny models where
 *                         thread hand-off costs more than the arithmetic
 * @param defaultMaxTokens tokens generated when a request does not say
 */
public record EngineConfig(int queueCapacity, int maxConcurrent, int threads, int defaultMaxTokens) {

    public EngineConfig {
        Validate.range("engine.queueCapacity", queueCapacity, 0, 1_000_000);
        Validate.range("engine.maxConcurrent", maxConcurrent, 1, 4096);
        Validate.range("engine.threads", threads, 1, 1024);
        Validate.range("engine.defaultMaxTokens", defaultMaxTokens, 1, 1 << 20);
    }

    /** Defaults: 64 queued, as many concurrent sequences and threads as cores, 256 tokens. */
    public static EngineConfig defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new EngineConfig(64, Math.max(1, cores), Math.max(1, cores), 256);
    }
}
