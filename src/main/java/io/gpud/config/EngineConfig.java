package io.gpud.config;

/**
 * The inference engine's limits.
 *
 * @param queueCapacity    requests admitted but not started, at most; beyond it a request
 *                         is refused with 429 and {@code Retry-After} rather than queued
 *                         without bound. Raising it trades latency for fewer refusals
 * @param maxConcurrent    sequences in the running batch at most (continuous batching: they
 *                         advance one token per step together and share every weight read)
 * @param defaultMaxTokens tokens generated when a request does not say
 * @param threads          threads that split one large matrix product; small products run
 *                         on one thread because the hand-off would cost more than it saves
 * @param kvCacheBytes     off-heap memory for the KV caches of all running sequences. Each
 *                         sequence takes {@code 2 × layers × tokens × kvDim × 4} bytes, tokens
 *                         being its prompt plus its max tokens (at most the context); a
 *                         sequence that does not fit waits in the queue until memory is freed
 * @param maxBatchTokens   tokens in one step at most: one per generating sequence plus chunks
 *                         of prompts, which are processed many tokens at a time
 * @param backend          where models run: {@code auto} (the GPU when a usable one is found,
 *                         else the CPU with the reason logged), {@code cpu}, {@code cuda}
 *                         (the GPU or fail to load), or {@code sim}: a simulated GPU whose step
 *                         times come from a model of one ({@code simProfile}), for testing a
 *                         fleet on one machine; refused with {@code secure.environment: production}
 * @param prefixCaching    whether sequences reuse the keys and values of a prompt prefix an
 *                         earlier sequence computed (the prefix cache). Costs nothing when
 *                         nothing repeats; off, every prompt is computed in full
 * @param kvBlockTokens    positions per block of KV memory, the unit the prefix cache names and
 *                         shares: smaller blocks reuse more of a partly shared prompt, larger ones
 *                         cost less to hash and to publish to peers
 * @param simProfile       the simulated GPU of the {@code sim} backend (see the sim backend's
 *                         profiles); ignored by the others
 */
public record EngineConfig(int queueCapacity, int maxConcurrent, int defaultMaxTokens, int threads,
                           long kvCacheBytes, int maxBatchTokens, Backend backend, boolean prefixCaching,
                           int kvBlockTokens, String simProfile) {

    /** The default {@code kvBlockTokens}: vLLM's and SGLang's block size. */
    public static final int DEFAULT_BLOCK_TOKENS = 16;

    /** The default {@code simProfile}. */
    public static final String DEFAULT_SIM_PROFILE = "l40s-llama-3.1-8b-fp16";

    /** The backend choice of {@code engine.backend}. */
    public enum Backend {
        AUTO, CPU, CUDA, SIM;

        /** {@code auto}, {@code cpu}, {@code cuda} or {@code sim}, any case. */
        public static Backend parse(String value) {
            for (Backend b : values()) {
                if (b.name().equalsIgnoreCase(value)) {
                    return b;
                }
            }
            throw ConfigException.invalid("engine.backend", "was '" + value + "', must be auto, cpu, cuda or sim");
        }
    }

    /** The given limits on {@code backend}, with the prefix cache on in blocks of 16 positions. */
    public EngineConfig(int queueCapacity, int maxConcurrent, int defaultMaxTokens, int threads, long kvCacheBytes,
                        int maxBatchTokens, Backend backend) {
        this(queueCapacity, maxConcurrent, defaultMaxTokens, threads, kvCacheBytes, maxBatchTokens, backend, true,
                DEFAULT_BLOCK_TOKENS, DEFAULT_SIM_PROFILE);
    }

    /** The given limits on the {@link Backend#AUTO} backend. */
    public EngineConfig(int queueCapacity, int maxConcurrent, int defaultMaxTokens, int threads, long kvCacheBytes,
                        int maxBatchTokens) {
        this(queueCapacity, maxConcurrent, defaultMaxTokens, threads, kvCacheBytes, maxBatchTokens, Backend.AUTO);
    }

    public EngineConfig {
        Validate.range("engine.queueCapacity", queueCapacity, 0, 1_000_000);
        Validate.range("engine.maxConcurrent", maxConcurrent, 1, 4096);
        Validate.range("engine.defaultMaxTokens", defaultMaxTokens, 1, 1 << 20);
        Validate.range("engine.threads", threads, 1, 1024);
        if (kvCacheBytes < 4096 || kvCacheBytes > 1L << 45) {
            throw ConfigException.invalid("engine.kvCacheBytes", "was " + kvCacheBytes + ", must be 4KiB to 32TiB");
        }
        Validate.range("engine.maxBatchTokens", maxBatchTokens, 1, 65_536);
        if (backend == null) {
            throw ConfigException.invalid("engine.backend", "is missing, must be auto, cpu, cuda or sim");
        }
        Validate.range("engine.kvBlockTokens", kvBlockTokens, 1, 1024);
        if (simProfile == null || simProfile.isBlank()) {
            throw ConfigException.invalid("engine.simProfile", "is missing, must name a simulated GPU profile");
        }
        if (maxBatchTokens < maxConcurrent) {
            throw new ConfigException("engine.maxBatchTokens was " + maxBatchTokens
                    + ", must be at least engine.maxConcurrent (" + maxConcurrent + ")");
        }
    }

    /**
     * Defaults: 64 queued, 8 sequences in the batch, 256 tokens, one thread per core, 1 GiB of
     * KV cache, 128 tokens per step.
     */
    public static EngineConfig defaults() {
        return limits(64, 8, 256);
    }

    /** The given queue, batch and token limits with the default threads, KV memory and step size. */
    public static EngineConfig limits(int queueCapacity, int maxConcurrent, int defaultMaxTokens) {
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
        return new EngineConfig(queueCapacity, maxConcurrent, defaultMaxTokens, cores, 1L << 30,
                Math.max(128, maxConcurrent));
    }

    /** This configuration with {@code threads} threads per matrix product. */
    public EngineConfig withThreads(int threads) {
        return new EngineConfig(queueCapacity, maxConcurrent, defaultMaxTokens, threads, kvCacheBytes, maxBatchTokens,
                backend, prefixCaching, kvBlockTokens, simProfile);
    }

    /** This configuration with at most {@code maxBatchTokens} tokens in one step. */
    public EngineConfig withMaxBatchTokens(int maxBatchTokens) {
        return new EngineConfig(queueCapacity, maxConcurrent, defaultMaxTokens, threads, kvCacheBytes, maxBatchTokens,
                backend, prefixCaching, kvBlockTokens, simProfile);
    }

    /** This configuration with the prefix cache on or off. */
    public EngineConfig withPrefixCaching(boolean prefixCaching) {
        return new EngineConfig(queueCapacity, maxConcurrent, defaultMaxTokens, threads, kvCacheBytes, maxBatchTokens,
                backend, prefixCaching, kvBlockTokens, simProfile);
    }

    /** This configuration on {@code backend}. */
    public EngineConfig withBackend(Backend backend) {
        return new EngineConfig(queueCapacity, maxConcurrent, defaultMaxTokens, threads, kvCacheBytes, maxBatchTokens,
                backend, prefixCaching, kvBlockTokens, simProfile);
    }
}
