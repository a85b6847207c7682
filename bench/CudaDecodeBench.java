import io.gpud.inference.LlamaModel;
import io.gpud.inference.cuda.DecodeBenchmark;
import io.gpud.model.GgmlType;
import java.util.Arrays;

/**
 * CUDA decode tokens/s at batch 1, 8 and 32 on random weights with Llama 2 7B dimensions,
 * against the device-to-device copy bandwidth measured in the same run.
 * Arguments: [TYPE (F16)] [STEPS (128)] [REPEATS (5)].
 */
public final class CudaDecodeBench {
    public static void main(String[] args) {
        GgmlType type = args.length > 0 ? GgmlType.valueOf(args[0]) : GgmlType.F16;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        LlamaModel.Dimensions dims = DecodeBenchmark.llama2_7b();
        DecodeBenchmark.Result result;
        try {
            result = DecodeBenchmark.run(dims, type, steps, repeats, 7);
        } catch (RuntimeException e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.out.printf("device: %s%nweights: %s, %.2f GB read per step; %d steps per batch, %d repeats%n",
                result.device(), type, result.weightBytes() / 1e9, steps, repeats);
        System.out.printf("%-7s %-22s %-14s %-16s %-12s%n", "repeat", "d2d copy GB/s (r+w)", "batch", "tokens/s",
                "weights / copy bw");
        int n = result.batches().length;
        double[][] fractions = new double[n][repeats];
        double[][] tokens = new double[n][repeats];
        for (int r = 0; r < repeats; r++) {
            var repeat = result.repeats().get(r);
            for (int i = 0; i < n; i++) {
                fractions[i][r] = result.fractionOfCopyBandwidth(r, i);
                tokens[i][r] = repeat.tokensPerSecond()[i];
                System.out.printf("%-7d %-22.1f %-14d %-16.1f %-12.3f%n", r, repeat.copyBytesPerSecond() / 1e9,
                        result.batches()[i], repeat.tokensPerSecond()[i], fractions[i][r]);
            }
        }
        System.out.println("median (min..max) over repeats:");
        for (int i = 0; i < n; i++) {
            System.out.printf("  batch %2d: %.1f tok/s (%.1f..%.1f), weight bytes/s = %.3f (%.3f..%.3f) of copy bandwidth%n",
                    result.batches()[i], median(tokens[i]), min(tokens[i]), max(tokens[i]), median(fractions[i]),
                    min(fractions[i]), max(fractions[i]));
        }
        double[] ratio32 = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            ratio32[r] = tokens[n - 1][r] / tokens[0][r];
        }
        System.out.printf("batch %d / batch 1 aggregate tokens/s: %.2f× (%.2f..%.2f); targets: batch 1 ≥ 0.70 of copy"
                + " bandwidth, batch 32 ≥ 8×%n", result.batches()[n - 1], median(ratio32), min(ratio32), max(ratio32));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElseThrow();
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElseThrow();
    }
}
