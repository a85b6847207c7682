package io.gpud.inference.sim;

import io.gpud.config.ConfigException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * A model of one GPU serving one model: how long a step takes and how many tokens of KV
 * cache fit, derived from the device's and the model's published figures.
 *
 * <h2>The step</h2>
 * One step runs {@code P} prompt tokens (chunked prefill) and the next token of {@code D}
 * generating sequences whose caches hold {@code C} positions in all, as one forward pass:
 * <pre>
 *   step = fixed
 *        + max(weightBytesPerStep / bandwidth′, (P + D) · flopsPerToken / flops′)   (the weights, a roofline)
 *        + attended · attentionFlopsPerPosition / flops′                           (prefill attention)
 *        + C · kvBytesPerToken / bandwidth′                                        (decode attention reads the KV)
 * </pre>
 * where {@code bandwidth′ = bandwidth × bandwidthEfficiency}, {@code flops′ = peakFlops ×
 * flopsUtilization}, and {@code attended} sums, over the step's prompt rows, the positions
 * each attends to (a row at position p attends p + 1). Every weight is read once per step
 * whatever the batch, and each token costs {@code 2 × parameters} FLOPs against them: a small
 * batch is bound by memory (decode: ≈ weights / bandwidth), a large prompt by compute
 * (prefill: ≈ {@link #prefillTokensPerSecond()}). A reused prompt prefix (the prefix cache)
 * costs nothing but what later rows spend attending to it.
 *
 * <p>This is the additive model {@code fixed + P / prefill rate + decode(D, C)} with the
 * weights' term shared between prefill and decode, as they are in one pass: the additive
 * form would count the weights twice in a mixed step, and let a short prompt chunk run
 * faster than the weights can be read.
 *
 * <h2>KV capacity</h2>
 * {@code (memoryBytes − reservedBytes − weightBytes) / kvBytesPerToken}: what vLLM leaves for
 * its KV blocks with its default {@code gpu_memory_utilization} of 0.9, after the weights and
 * its activation and CUDA graph memory.
 *
 * @param name                     how {@code engine.simProfile} names it
 * @param device                   the GPU, for {@code device()} and logs
 * @param weightType               how the weights are stored ({@code fp16}, {@code awq-int4})
 * @param parameters               the model's weights, in number
 * @param contextLength            positions a sequence may hold (the model's trained context)
 * @param memoryBytes              the GPU's memory
 * @param bandwidthBytesPerSecond  the GPU's peak memory bandwidth
 * @param peakFlops                the GPU's dense tensor throughput in the compute type, FLOP/s
 * @param weightBytes              the weights in GPU memory
 * @param weightBytesPerStep       the weight bytes one forward pass reads (not the input
 *                                 embedding table, of which it reads only its tokens' rows)
 * @param flopsPerToken            FLOPs of one token through the weights: 2 per parameter
 * @param attentionFlopsPerPosition FLOPs of one query row attending to one position:
 *                                 {@code 4 × layers × heads × headDim} (QKᵀ and AV, a multiply-add each)
 * @param kvBytesPerToken          KV cache bytes of one position: {@code 2 × layers × kvHeads × headDim × 2}
 * @param reservedBytes            GPU memory for neither weights nor KV: the 10% vLLM leaves
 *                                 unused, its activations and CUDA graphs
 * @param bandwidthEfficiency      the fraction of peak bandwidth a decode step reaches
 * @param flopsUtilization         the fraction of peak FLOP/s a prefill reaches (its MFU)
 * @param fixedStepNanos           what a step costs besides the arithmetic: the engine's
 *                                 scheduling, launches, sampling
 */
public record SimProfile(String name, String device, String weightType, long parameters, int contextLength,
                         long memoryBytes, double bandwidthBytesPerSecond, double peakFlops, long weightBytes,
                         long weightBytesPerStep, double flopsPerToken, double attentionFlopsPerPosition,
                         long kvBytesPerToken, long reservedBytes, double bandwidthEfficiency,
                         double flopsUtilization, long fixedStepNanos) {

    // NVIDIA L40S datasheet: 48 GB GDDR6 at 864 GB/s; FP16/BF16 tensor cores 362.05 TFLOPS
    // dense (733 with 2:4 sparsity, which dense inference does not use).
    private static final long L40S_MEMORY = 48_000_000_000L;
    private static final double L40S_BANDWIDTH = 864e9;
    private static final double L40S_FP16_FLOPS = 362.05e12;

    // Llama-3.1-8B (its config.json): 8.03B parameters, 32 layers, hidden 4096 (32 heads × 128),
    // 8 KV heads × 128 dims (grouped-query attention), vocabulary 128,256, context 131,072.
    private static final long LLAMA_8B_PARAMETERS = 8_030_000_000L;
    private static final int LLAMA_8B_LAYERS = 32;
    private static final int LLAMA_8B_HIDDEN = 4096;
    private static final int LLAMA_8B_KV_HEADS = 8;
    private static final int LLAMA_8B_HEAD_DIM = 128;
    private static final long LLAMA_8B_VOCAB = 128_256;
    private static final int LLAMA_8B_CONTEXT = 131_072;
    /** One embedding table (the input embedding; the untied output head is another): 525M weights. */
    private static final long LLAMA_8B_TABLE = LLAMA_8B_VOCAB * LLAMA_8B_HIDDEN;

    /** 2 (K and V) × 32 layers × 8 KV heads × 128 dims × 2 bytes (FP16) = 131,072 = 128 KiB. */
    private static final long LLAMA_8B_KV_BYTES_FP16 = 2L * LLAMA_8B_LAYERS * LLAMA_8B_KV_HEADS * LLAMA_8B_HEAD_DIM * 2;
    /** 4 × 32 layers × 4096 = 524,288. */
    private static final double LLAMA_8B_ATTENTION_FLOPS = 4.0 * LLAMA_8B_LAYERS * LLAMA_8B_HIDDEN;

    /**
     * vLLM's default {@code gpu_memory_utilization} 0.9 leaves 10% (4.8 GB) unused; about
     * 1.5 GB more goes to activations of an 8K-token step and CUDA graphs (vLLM's profiling
     * run for an 8B model).
     */
    private static final long L40S_RESERVED = L40S_MEMORY / 10 + 1_500_000_000L;

    /**
     * Per-step cost besides the arithmetic: vLLM's scheduler and input preparation, graph
     * launch and sampling, about 2 ms a step on a serving host.
     */
    private static final long FIXED_STEP_NANOS = 2_000_000;

    private static final SequencedMap<String, SimProfile> PROFILES = profiles();

    public SimProfile {
        if (bandwidthEfficiency <= 0 || bandwidthEfficiency > 1 || flopsUtilization <= 0 || flopsUtilization > 1) {
            throw new IllegalArgumentException("profile " + name + ": bandwidthEfficiency " + bandwidthEfficiency
                    + " and flopsUtilization " + flopsUtilization + " must be in (0, 1]");
        }
        if (memoryBytes - reservedBytes - weightBytes < kvBytesPerToken) {
            throw new IllegalArgumentException("profile " + name + ": " + memoryBytes + " bytes of memory leave no "
                    + "room for KV after " + weightBytes + " bytes of weights and " + reservedBytes + " reserved");
        }
    }

    /**
     * Llama-3.1-8B in FP16 on an L40S: 16.06 GB of weights, a decode step reading 15.0 GB
     * (all but the input embedding table) at 80% of 864 GB/s ≈ 21.7 ms, plus 2 ms; prefill at
     * half the dense FP16 peak ≈ 11,300 tokens/s; about 195,600 tokens of KV.
     */
    public static SimProfile l40sLlama31Fp16() {
        long weights = 2 * LLAMA_8B_PARAMETERS;
        return new SimProfile("l40s-llama-3.1-8b-fp16", "NVIDIA L40S", "fp16", LLAMA_8B_PARAMETERS,
                LLAMA_8B_CONTEXT, L40S_MEMORY, L40S_BANDWIDTH, L40S_FP16_FLOPS, weights,
                weights - 2 * LLAMA_8B_TABLE, 2.0 * LLAMA_8B_PARAMETERS, LLAMA_8B_ATTENTION_FLOPS,
                LLAMA_8B_KV_BYTES_FP16, L40S_RESERVED,
                0.8,  // GEMV decode kernels on GDDR6 reach ~80% of the peak bandwidth
                0.5,  // large prefill GEMMs: half the dense peak on a 350 W, power-limited card
                FIXED_STEP_NANOS);
    }

    /**
     * Llama-3.1-8B with 4-bit weights (AWQ or GPTQ, group size 128: 4 bits plus an FP16 scale
     * and zero per 128 weights = 4.25 bits) on its linear layers, the embedding table and the
     * output head kept in FP16: 3.71 GB + 2.10 GB = 5.81 GB of weights, a decode step reading
     * 4.76 GB at 70% of 864 GB/s ≈ 7.9 ms, plus 2 ms; prefill dequantizes to FP16 tensor cores
     * at 40% of their peak ≈ 9,000 tokens/s; KV in FP16, about 273,800 tokens of it.
     */
    public static SimProfile l40sLlama31Int4() {
        long linear = LLAMA_8B_PARAMETERS - 2 * LLAMA_8B_TABLE;
        long linearBytes = linear * 17 / 32; // 4.25 bits a weight
        long tables = 2 * 2 * LLAMA_8B_TABLE;
        return new SimProfile("l40s-llama-3.1-8b-int4", "NVIDIA L40S", "awq-int4", LLAMA_8B_PARAMETERS,
                LLAMA_8B_CONTEXT, L40S_MEMORY, L40S_BANDWIDTH, L40S_FP16_FLOPS, linearBytes + tables,
                linearBytes + 2 * LLAMA_8B_TABLE, 2.0 * LLAMA_8B_PARAMETERS, LLAMA_8B_ATTENTION_FLOPS,
                LLAMA_8B_KV_BYTES_FP16, L40S_RESERVED,
                0.7,  // dequantizing GEMV kernels (AWQ, Marlin) reach less of the bandwidth than FP16 ones
                0.4,  // dequantizing costs prefill about a fifth of the FP16 rate
                FIXED_STEP_NANOS);
    }

    /** The profile {@code engine.simProfile} names. */
    public static SimProfile named(String name) {
        SimProfile profile = PROFILES.get(name);
        if (profile == null) {
            throw new ConfigException("engine.simProfile was '" + name + "', must be one of "
                    + String.join(", ", PROFILES.keySet()));
        }
        return profile;
    }

    /** The names of every profile. */
    public static List<String> names() {
        return List.copyOf(PROFILES.keySet());
    }

    private static SequencedMap<String, SimProfile> profiles() {
        var profiles = new LinkedHashMap<String, SimProfile>();
        for (SimProfile p : new SimProfile[] {l40sLlama31Fp16(), l40sLlama31Int4()}) {
            profiles.put(p.name(), p);
        }
        return profiles;
    }

    /** Positions of KV cache the memory left after the weights holds. */
    public long kvCapacityTokens() {
        return (memoryBytes - reservedBytes - weightBytes) / kvBytesPerToken;
    }

    /** Prompt tokens a second when prefill is bound by compute (a long prompt, attention aside). */
    public double prefillTokensPerSecond() {
        return peakFlops * flopsUtilization / flopsPerToken;
    }

    /**
     * Nanoseconds of a step that runs {@code prefillTokens} prompt rows attending to
     * {@code attended} positions in all, and {@code decodeSequences} generating sequences
     * holding {@code decodeContext} positions in all (see the class comment); 0 for an empty step.
     */
    public long stepNanos(int prefillTokens, long attended, int decodeSequences, long decodeContext) {
        if (prefillTokens + decodeSequences == 0) {
            return 0;
        }
        double bandwidth = bandwidthBytesPerSecond * bandwidthEfficiency;
        double flops = peakFlops * flopsUtilization;
        double weights = Math.max(weightBytesPerStep / bandwidth,
                (prefillTokens + decodeSequences) * flopsPerToken / flops);
        double seconds = weights + attended * attentionFlopsPerPosition / flops
                + decodeContext * (double) kvBytesPerToken / bandwidth;
        return fixedStepNanos + Math.round(seconds * 1e9);
    }

    /** Nanoseconds of a decode-only step of {@code sequences} sequences holding {@code context} positions in all. */
    public long decodeStepNanos(int sequences, long context) {
        return stepNanos(0, 0, sequences, context);
    }

    /**
     * Nanoseconds of a step that prefills a prompt's tokens {@code [from, to)} alone: the
     * rows attend to {@code from + 1 … to} positions.
     */
    public long prefillNanos(int from, int to) {
        return stepNanos(to - from, attended(from, to), 0, 0);
    }

    /** Positions the prompt rows {@code [from, to)} attend to in all: {@code Σ (p + 1)}. */
    static long attended(int from, int to) {
        return ((long) to * (to + 1) - (long) from * (from + 1)) / 2;
    }
}
