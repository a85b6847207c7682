package io.gpud.config;

/**
 * The inference engine's limits.
 *
 * @param queueCapacity    requests admitted but not started, at most; beyond it a request
 *                         is refused with 429 and {@code Retry-After} rather than queued
 *                         without bound. Raising it trades latency for fewer refusals
 * @param maxConcurrent    sequences generating at once. Each holds a KV cache of
 *                         {@code 2 × layers × contextLength × kvDim × 4} bytes
 * @param defaultMaxTokens tokens generated when a request does not say
 */
public record EngineConfig(int queueCapacity, int maxConcurrent, int defaultMaxTokens) {

    public EngineConfig {
        Validate.range("engine.queueCapacity", queueCapacity, 0, 1_000_000);
        Validate.range("engine.maxConcurrent", maxConcurrent, 1, 4096);
        Validate.range("engine.defaultMaxTokens", defaultMaxTokens, 1, 1 << 20);
    }

    /** Defaults: 64 queued, as many concurrent sequences as cores, 256 tokens. */
    public static EngineConfig defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new EngineConfig(64, Math.max(1, cores), 256);
    }
}
