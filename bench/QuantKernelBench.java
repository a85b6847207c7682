package io.gpud.inference;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufFile;
import io.gpud.model.GgufTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix × vector throughput of each tensor type's CPU kernel on one thread, in GB/s of
 * weights read (bench/quant-kernels.sh). The weights are real blocks: the first row of each
 * type in the test fixture quant-types.gguf (quantized by ggml's reference quantizers), tiled
 * over a ROWS × COLS matrix much larger than the caches, written to a temporary file and mapped
 * read-only in a shared arena, as the engine maps a model (so every access pays the same
 * checks as in the engine: a shared session's liveness, a read-only mapped segment). Each type runs with one input
 * (decode) and with a batch of eight (each weight row read once for all eight); the best of
 * REPEATS timed passes is reported, after three seconds of warm-up passes for the JIT. Lives in the engine's
 * package to reach its package-private kernels; compiled beside the jar, not shipped in it.
 *
 *   java -cp target/gpud.jar:CLASSES io.gpud.inference.QuantKernelBench FIXTURE [ROWS COLS REPEATS]
 */
public final class QuantKernelBench {
    /** Running time before measuring: the C2 compiler must have compiled the kernels. */
    private static final long WARM_UP_NANOS = 3_000_000_000L;

    private QuantKernelBench() {
    }

    public static void main(String[] args) throws IOException {
        Path fixture = Path.of(args[0]);
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
        int cols = args.length > 2 ? Integer.parseInt(args[2]) : 4096;
        int repeats = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        GgmlType[] types = args.length > 4 ? parse(args[4].split(",")) : new GgmlType[] {GgmlType.F32, GgmlType.F16,
                GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K,
                GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS};
        System.out.printf("%d × %d matrix, one thread, best of %d passes; float lanes: %d%n", rows, cols, repeats,
                FloatTensor.FLOATS.length());
        System.out.printf("%-7s %10s %14s %14s %16s%n", "type", "MiB", "batch 1 GB/s", "batch 8 GB/s",
                "batch 8 rows/s ×");
        var random = new SplittableRandom(1);
        float[][] x = new float[8][cols];
        for (float[] v : x) {
            for (int i = 0; i < cols; i++) {
                v[i] = (float) random.nextGaussian();
            }
        }
        try (GgufFile gguf = GgufFile.open(fixture); Arena arena = Arena.ofShared()) {
            for (GgmlType type : types) {
                MemorySegment weights = tile(gguf, type, rows, cols, arena);
                FloatTensor tensor = FloatTensor.of(type, weights);
                double one = pass(tensor, x, 1, rows, cols, repeats);
                double eight = pass(tensor, x, 8, rows, cols, repeats);
                double gb = weights.byteSize() / 1e9;
                System.out.printf("%-7s %10.1f %14.2f %14.2f %16.2f%n", type, weights.byteSize() / 1048576.0, gb / one,
                        gb / eight, 8 * one / eight);
                if (type == GgmlType.Q4_K) {
                    float[] out = new float[rows];
                    double fused = best(() -> {
                        for (int r = 0; r < rows; r++) {
                            out[r] = fusedQ4K(weights, (long) r * cols, x[0], cols);
                        }
                    }, repeats);
                    System.out.printf("%-7s %10s %14.2f   (alternative: dequantized in registers, no scratch)%n",
                            "Q4_K*", "", gb / fused);
                }
            }
        }
    }

    private static GgmlType[] parse(String[] names) {
        var types = new GgmlType[names.length];
        for (int i = 0; i < names.length; i++) {
            types[i] = GgmlType.valueOf(names[i]);
        }
        return types;
    }

    /**
     * The first row of the fixture's {@code type} tensor (F32, F16: Q8_0's dequantized), repeated,
     * in a temporary file (deleted at once; the mapping stays) mapped read-only.
     */
    private static MemorySegment tile(GgufFile gguf, GgmlType type, int rows, int cols, Arena arena)
            throws IOException {
        long rowBytes = type.byteSize(cols);
        MemorySegment row = arena.allocate(rowBytes);
        if (type == GgmlType.F32 || type == GgmlType.F16) {
            FloatTensor source = FloatTensor.of(GgmlType.F32, gguf.tensor("Q8_0.dequantized").data());
            int fixtureCols = Math.toIntExact(gguf.tensor("Q8_0.dequantized").dims()[0]);
            for (int i = 0; i < cols; i++) {
                float v = source.get(i % fixtureCols);
                if (type == GgmlType.F32) {
                    row.setAtIndex(FloatTensor.F32_LAYOUT, i, v);
                } else {
                    row.setAtIndex(FloatTensor.F16_LAYOUT, i, Float.floatToFloat16(v));
                }
            }
        } else {
            GgufTensor source = gguf.tensor(type.name());
            long fixtureRowBytes = type.byteSize(source.dims()[0]);
            for (long at = 0; at < rowBytes; at += fixtureRowBytes) {
                MemorySegment.copy(source.data(), 0, row, at, Math.min(fixtureRowBytes, rowBytes - at));
            }
        }
        Path file = Files.createTempFile("quant-kernel-bench", ".bin");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.DELETE_ON_CLOSE)) {
            MemorySegment out = channel.map(FileChannel.MapMode.READ_WRITE, 0, rowBytes * rows, arena);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(row, 0, out, r * rowBytes, rowBytes);
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, rowBytes * rows, arena);
        }
    }

    /**
     * The alternative formulation for Q4_K, measured beside the engine's: each 16-element
     * piece is dequantized in registers and multiplied at once (no scratch round trip), two
     * accumulators, one lane reduction per row.
     */
    static float fusedQ4K(MemorySegment data, long offset, float[] x, int n) {
        VectorSpecies<Float> floats = FloatTensor.FLOATS;
        int lanes = floats.length();
        FloatVector a0 = FloatVector.zero(floats);
        FloatVector a1 = a0;
        long first = offset / 256;
        for (int b = 0; b < n / 256; b++) {
            long at = (first + b) * 144;
            float d = Float.float16ToFloat(data.get(FloatTensor.F16_LAYOUT, at));
            float dmin = Float.float16ToFloat(data.get(FloatTensor.F16_LAYOUT, at + 2));
            int xi = b * 256;
            for (int c = 0; c < 4; c++) {
                float d1 = d * scaleOrMin(data, at + 4, 2 * c, 0);
                float m1 = dmin * scaleOrMin(data, at + 4, 2 * c, 1);
                float d2 = d * scaleOrMin(data, at + 4, 2 * c + 1, 0);
                float m2 = dmin * scaleOrMin(data, at + 4, 2 * c + 1, 1);
                for (int l = 0; l < 32; l += lanes) {
                    ByteVector packed = ByteVector.fromMemorySegment(FloatTensor.BYTES, data, at + 16 + 32 * c + l,
                            ByteOrder.LITTLE_ENDIAN);
                    FloatVector lo = (FloatVector) packed.and((byte) 0x0F).convertShape(VectorOperators.B2F, floats, 0);
                    FloatVector hi = (FloatVector) packed.lanewise(VectorOperators.LSHR, 4)
                            .convertShape(VectorOperators.B2F, floats, 0);
                    a0 = lo.mul(d1).sub(m1).fma(FloatVector.fromArray(floats, x, xi + 64 * c + l), a0);
                    a1 = hi.mul(d2).sub(m2).fma(FloatVector.fromArray(floats, x, xi + 64 * c + 32 + l), a1);
                }
            }
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    private static int scaleOrMin(MemorySegment data, long at, int j, int which) {
        if (j < 4) {
            return data.get(ValueLayout.JAVA_BYTE, at + j + 4L * which) & 63;
        }
        int packed = data.get(ValueLayout.JAVA_BYTE, at + j + 4) & 0xFF;
        int lowBits = which == 0 ? packed & 0x0F : packed >>> 4;
        return lowBits | ((data.get(ValueLayout.JAVA_BYTE, at + j - 4 + 4L * which) & 0xFF) >>> 6) << 4;
    }

    /** Seconds of the fastest of {@code repeats} runs of {@code body}, after warm-up. */
    private static double best(Runnable body, int repeats) {
        long warmUntil = System.nanoTime() + WARM_UP_NANOS;
        for (int i = 0; i < 3 || System.nanoTime() < warmUntil; i++) {
            body.run();
        }
        long best = Long.MAX_VALUE;
        for (int i = 0; i < repeats; i++) {
            long start = System.nanoTime();
            body.run();
            best = Math.min(best, System.nanoTime() - start);
        }
        return best / 1e9;
    }

    /** Seconds of the fastest of {@code repeats} products of {@code batch} inputs, after warm-up. */
    private static double pass(FloatTensor tensor, float[][] x, int batch, int rows, int cols, int repeats) {
        float[][] out = new float[batch][rows];
        return best(() -> tensor.matmulRows(x, out, batch, 0, rows, cols), repeats);
    }
}
