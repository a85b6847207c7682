package io.gpud.inference.cuda;

import io.gpud.inference.LlamaModel;
import io.gpud.model.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decode speed of the CUDA forward pass on random weights of given dimensions, against the
 * device's own device-to-device copy bandwidth measured in the same run (run by
 * {@code bench/cuda-decode.sh}). Each repeat measures the copy bandwidth and then batches of
 * 1, 8 and 32 rows, {@code steps} decode steps each (one graph launch, logits copied back
 * per step, as the engine runs them). The weights are random and in host memory only:
 * every matrix is a slice of one random pool, uploaded to its own device memory, so the
 * device reads as many distinct bytes per step as a real model of these dimensions.
 */
public final class DecodeBenchmark {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long COPY_BYTES = 1L << 30;

    private DecodeBenchmark() {
    }

    /** Llama 2 7B: 4096 wide, 11008 hidden, 32 layers of 32 heads, 32000 tokens. */
    public static LlamaModel.Dimensions llama2_7b() {
        return new LlamaModel.Dimensions(4096, 11008, 32, 32, 32, 32000, 4096, 10000f, 1e-5f, false);
    }

    /**
     * One repeat's figures.
     *
     * @param copyBytesPerSecond bytes read plus written per second by device-to-device copies
     * @param tokensPerSecond    per batch size of {@link LaunchGeometry#GRAPH_BATCHES}, tokens
     *                           of all rows together
     */
    public record Repeat(double copyBytesPerSecond, double[] tokensPerSecond) {
    }

    /**
     * @param device      the probe's answer, which must be usable
     * @param weightBytes bytes of weights read by every step
     */
    public record Result(String device, long weightBytes, int[] batches, List<Repeat> repeats) {
        /** Batch {@code i}'s weight bytes read per second over the copy bandwidth, in repeat {@code r}. */
        public double fractionOfCopyBandwidth(int r, int i) {
            Repeat repeat = repeats.get(r);
            return repeat.tokensPerSecond()[i] / batches[i] * weightBytes / repeat.copyBytesPerSecond();
        }
    }

    public static Result run(LlamaModel.Dimensions d, GgmlType type, int steps, int repeats, long seed) {
        if (!(CudaProbe.probe() instanceof CudaAvailability.Usable device)) {
            throw new CudaBackendException("no usable CUDA device: " + CudaProbe.probe());
        }
        int[] batches = LaunchGeometry.GRAPH_BATCHES;
        try (Arena arena = Arena.ofConfined();
             var forward = new CudaForward(device, randomWeights(arena, d, type, seed), KernelImage.load(),
                     LaunchGeometry.MAX_GRAPH_BATCH, steps + 1, LaunchGeometry.MAX_GRAPH_BATCH)) {
            List<Repeat> results = new ArrayList<>();
            var random = new SplittableRandom(seed);
            for (int r = 0; r < repeats; r++) {
                double copy = forward.copyBandwidth(COPY_BYTES, 20);
                double[] tokensPerSecond = new double[batches.length];
                for (int i = 0; i < batches.length; i++) {
                    int rows = batches[i];
                    int[] tokens = new int[rows];
                    int[] positions = new int[rows];
                    int[] slots = new int[rows];
                    Arrays.setAll(slots, s -> s);
                    float[][] logits = new float[rows][d.vocabSize()];
                    float millis = forward.timeMillis(() -> {
                        for (int t = 0; t < steps; t++) {
                            for (int row = 0; row < rows; row++) {
                                tokens[row] = random.nextInt(d.vocabSize());
                                positions[row] = t;
                            }
                            forward.decode(rows, tokens, positions, slots, logits);
                        }
                    });
                    tokensPerSecond[i] = (double) rows * steps / (millis / 1e3);
                }
                results.add(new Repeat(copy, tokensPerSecond));
            }
            return new Result(device.toString(), forward.weightBytes(), batches.clone(), results);
        }
    }

    /** Every matrix a slice of one random pool; the classifier a different slice than the embedding. */
    private static WeightSource randomWeights(Arena arena, LlamaModel.Dimensions d, GgmlType type, long seed) {
        long largest = Math.max((long) d.vocabSize() * d.dim(), (long) d.hiddenDim() * d.dim());
        long bytesPerElement = switch (type) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            case Q8_0 -> 0;
            default -> throw new CudaBackendException("no CUDA kernel for " + type + " weights");
        };
        long poolBytes = type == GgmlType.Q8_0 ? largest / 32 * 34 : largest * bytesPerElement;
        long shift = 34L * 64;
        MemorySegment pool = arena.allocate(poolBytes + shift, 64);
        fill(pool, type, seed);
        float[] ones = new float[d.dim()];
        Arrays.fill(ones, 1f);
        return new WeightSource() {
            @Override
            public LlamaModel.Dimensions dimensions() {
                return d;
            }

            private LlamaModel.Tensor matrix(int rows, int cols, long offset) {
                long elements = (long) rows * cols;
                long bytes = type == GgmlType.Q8_0 ? elements / 32 * 34 : elements * bytesPerElement;
                return new LlamaModel.Tensor(type, pool.asSlice(offset, bytes), rows, cols);
            }

            @Override
            public LlamaModel.Tensor tokenEmbedding() {
                return matrix(d.vocabSize(), d.dim(), 0);
            }

            @Override
            public LlamaModel.Layer layer(int l) {
                int dim = d.dim();
                int kv = d.kvDim();
                int hidden = d.hiddenDim();
                return new LlamaModel.Layer(ones.clone(), matrix(dim, dim, 0), matrix(kv, dim, 0), matrix(kv, dim, 0),
                        matrix(dim, dim, 0), ones.clone(), matrix(hidden, dim, 0), matrix(dim, hidden, 0),
                        matrix(hidden, dim, 0));
            }

            @Override
            public float[] rmsFinal() {
                return ones.clone();
            }

            @Override
            public LlamaModel.Tensor classifier() {
                return matrix(d.vocabSize(), d.dim(), shift);
            }
        };
    }

    /** Small random weights (|w| ≤ 0.05) in {@code type}'s layout. */
    private static void fill(MemorySegment pool, GgmlType type, long seed) {
        var random = new SplittableRandom(seed);
        switch (type) {
            case F32 -> {
                for (long i = 0; i + 4 <= pool.byteSize(); i += 4) {
                    pool.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) (random.nextDouble() - 0.5) * 0.1f);
                }
            }
            case F16 -> {
                for (long i = 0; i + 2 <= pool.byteSize(); i += 2) {
                    pool.set(LE_SHORT, i, Float.floatToFloat16((float) (random.nextDouble() - 0.5) * 0.1f));
                }
            }
            case BF16 -> {
                for (long i = 0; i + 2 <= pool.byteSize(); i += 2) {
                    float v = (float) (random.nextDouble() - 0.5) * 0.1f;
                    pool.set(LE_SHORT, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                }
            }
            case Q8_0 -> {
                short scale = Float.floatToFloat16(0.05f / 127);
                for (long b = 0; b + 34 <= pool.byteSize(); b += 34) {
                    pool.set(LE_SHORT, b, scale);
                    for (int i = 0; i < 32; i++) {
                        pool.set(ValueLayout.JAVA_BYTE, b + 2 + i, (byte) (random.nextInt(255) - 127));
                    }
                }
            }
            default -> throw new CudaBackendException("no CUDA kernel for " + type + " weights");
        }
    }
}
