import io.gpud.config.EngineConfig;
import io.gpud.inference.Admission;
import io.gpud.inference.Completion;
import io.gpud.inference.CpuBackend;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.Sampling;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decoding speed of gpud's CPU engine against a reference binary measured in the same run.
 *
 * <p>Usage (see bench/README.md): {@code bench/run.sh REFERENCE TOKENIZER [MODEL...]} where
 * REFERENCE is a llama2.c {@code run} binary, TOKENIZER its tokenizer.bin, and MODEL a
 * llama2.c checkpoint or one of {@code random-15M} and {@code random-110M}, which this
 * program writes with random weights (stories15M and stories110M dimensions) into a
 * temporary directory and deletes afterwards.
 *
 * <p>For each model: the reference's {@code achieved tok/s} (greedy, prompt = BOS, N steps),
 * gpud's single-stream tokens/s on one thread for the same N steps after warm-up runs
 * in-process (at least three of each kind and five seconds in all, for the JIT compiler), and the aggregate tokens/s of 8 concurrent streams on the same engine. Each
 * measurement is the best of {@code BENCH_REPEATS} (default 5) runs, the three kinds of run
 * interleaved, because the machine may be shared. Ratios are printed against the reference and against one stream,
 * then the spread: each figure's worst and best, and the ratios within each repeat.
 */
public final class Bench {
    private static final Pattern TOKS = Pattern.compile("achieved tok/s: ([0-9.]+)");
    private static final int STREAMS = 8;
    private static final long WARMUP_NANOS = 5_000_000_000L;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: Bench REFERENCE_BINARY TOKENIZER_BIN MODEL...  (MODEL: a .bin, random-15M, random-110M)");
            System.exit(2);
        }
        Path reference = Path.of(args[0]);
        Path tokenizer = Path.of(args[1]);
        int repeats = Integer.parseInt(System.getenv().getOrDefault("BENCH_REPEATS", "5"));
        int threads = Integer.parseInt(System.getenv().getOrDefault("BENCH_BATCH_THREADS", "1"));
        if (repeats < 1) {
            System.err.println("BENCH_REPEATS was " + repeats + ", must be at least 1");
            System.exit(2);
        }
        Path scratch = Files.createTempDirectory("gpud-bench");
        var spreads = new StringBuilder();
        try {
            System.out.printf("%-14s %6s %12s %12s %8s %14s %8s %14s%n", "model", "steps", "ref tok/s", "gpud tok/s",
                    "ratio", "8-stream tok/s", "x one", "peak heap MiB");
            for (int i = 2; i < args.length; i++) {
                Path model = switch (args[i]) {
                    case "random-15M" -> writeRandom(scratch.resolve("random-15M.bin"), 288, 768, 6, 6, 32000, 256);
                    case "random-110M" -> writeRandom(scratch.resolve("random-110M.bin"), 768, 2048, 12, 12, 32000, 1024);
                    default -> Path.of(args[i]);
                };
                int steps = Integer.parseInt(System.getenv().getOrDefault("BENCH_STEPS", "256"));
                double[] ref = new double[repeats];
                double[] one = new double[repeats];
                double[] many = new double[repeats];
                try (Engine single = CpuBackend.load(model, null, "bench",
                        EngineConfig.limits(STREAMS, STREAMS, steps).withThreads(1));
                     Engine batched = CpuBackend.load(model, null, "bench",
                             EngineConfig.limits(STREAMS, STREAMS, steps).withThreads(threads))) {
                    // warm-up: JIT compilation, at least 3 runs of each kind and WARMUP_NANOS in all
                    long warmupStart = System.nanoTime();
                    for (int w = 0; w < 3 || System.nanoTime() - warmupStart < WARMUP_NANOS; w++) {
                        stream(single, steps);
                        streams(batched, steps);
                    }
                    // interleaved, so a change in the machine's load hits all three alike
                    for (int r = 0; r < repeats; r++) {
                        ref[r] = runReference(reference, model, tokenizer, steps);
                        one[r] = stream(single, steps);
                        many[r] = streams(batched, steps);
                    }
                }
                double bestRef = max(ref);
                double bestOne = max(one);
                double bestMany = max(many);
                System.out.printf("%-14s %6d %12.1f %12.1f %8.2f %14.1f %8.2f %14.1f%n", name(args[i]), steps, bestRef,
                        bestOne, bestOne / bestRef, bestMany, bestMany / bestOne, peakHeapBytes() / 1048576.0);
                spreads.append(String.format("%-14s ref %.1f-%.1f, gpud %.1f-%.1f, 8 streams %.1f-%.1f; per-repeat ratio %.2f-%.2f, x one %.2f-%.2f%n",
                        name(args[i]), min(ref), bestRef, min(one), bestOne, min(many), bestMany,
                        min(ratios(one, ref)), max(ratios(one, ref)), min(ratios(many, one)), max(ratios(many, one))));
            }
            System.out.println("ratio: gpud one stream, one thread / reference; x one: 8 streams ("
                    + threads + " thread(s)) / one stream; best of " + repeats + " interleaved repeats");
            System.out.print("spread (tok/s, worst-best over the repeats; ratios within each repeat):\n" + spreads);
        } finally {
            try (var files = Files.list(scratch)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(scratch);
        }
    }

    private static double max(double[] values) {
        double m = values[0];
        for (double v : values) {
            m = Math.max(m, v);
        }
        return m;
    }

    private static double min(double[] values) {
        double m = values[0];
        for (double v : values) {
            m = Math.min(m, v);
        }
        return m;
    }

    /** a[r] / b[r] for each repeat r. */
    private static double[] ratios(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int r = 0; r < a.length; r++) {
            out[r] = a[r] / b[r];
        }
        return out;
    }

    private static String name(String model) {
        return Path.of(model).getFileName().toString();
    }

    /** Peak heap use so far (the sum of the heap pools' peaks; an upper bound), then reset. */
    private static long peakHeapBytes() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
                pool.resetPeakUsage();
            }
        }
        return peak;
    }

    /** The reference's own tok/s line for {@code steps} greedy steps from BOS. */
    private static double runReference(Path binary, Path model, Path tokenizer, int steps) throws Exception {
        Process p = new ProcessBuilder(binary.toString(), model.toString(), "-z", tokenizer.toString(), "-t", "0",
                "-n", String.valueOf(steps)).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("reference failed: " + err);
        }
        Matcher m = TOKS.matcher(err);
        if (!m.find()) {
            throw new IllegalStateException("reference printed no tok/s: " + err);
        }
        return Double.parseDouble(m.group(1));
    }

    /** One greedy stream from BOS for steps − 1 tokens: tokens after the first over the time since it. */
    private static double stream(Engine engine, int steps) {
        Completion c = submit(engine, steps).join();
        return (c.completionTokens() - 1) * 1e9 / c.decodeNanos();
    }

    /** Eight greedy streams at once: all their tokens over the wall time until the last ends. */
    private static double streams(Engine engine, int steps) {
        long start = System.nanoTime();
        var all = new ArrayList<CompletableFuture<Completion>>();
        for (int s = 0; s < STREAMS; s++) {
            all.add(submit(engine, steps));
        }
        long tokens = 0;
        for (CompletableFuture<Completion> f : all) {
            tokens += f.join().completionTokens();
        }
        return tokens * 1e9 / (System.nanoTime() - start);
    }

    private static CompletableFuture<Completion> submit(Engine engine, int steps) {
        var done = new CompletableFuture<Completion>();
        var request = new GenerationRequest("bench", new int[] {1}, steps - 1, Sampling.greedy(), List.of(), true);
        Admission admission = engine.submit(request, new GenerationListener() {
            @Override
            public void onToken(int token, String text) {
            }

            @Override
            public void onDone(Completion completion) {
                done.complete(completion);
            }

            @Override
            public void onFailure(RuntimeException error) {
                done.completeExceptionally(error);
            }
        });
        switch (admission) {
            case Admission.Accepted accepted -> { }
            case Admission.Rejected rejected -> throw new IllegalStateException("rejected: " + rejected.reason());
            case Admission.Refused refused -> throw new IllegalStateException("refused: " + refused.reason());
        }
        return done;
    }

    /** A llama2.c checkpoint with shared classifier and uniform random weights. */
    private static Path writeRandom(Path file, int dim, int hidden, int layers, int heads, int vocab, int seqLen)
            throws IOException {
        int headSize = dim / heads;
        long[] sizes = {
            (long) vocab * dim, (long) layers * dim, (long) layers * dim * dim, (long) layers * dim * dim,
            (long) layers * dim * dim, (long) layers * dim * dim, (long) layers * dim, (long) layers * hidden * dim,
            (long) layers * dim * hidden, (long) layers * hidden * dim, dim, (long) seqLen * headSize / 2,
            (long) seqLen * headSize / 2,
        };
        boolean[] norms = {false, true, false, false, false, false, true, false, false, false, true, false, false};
        var random = new SplittableRandom(1);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(dim).putInt(hidden).putInt(layers).putInt(heads).putInt(heads).putInt(vocab).putInt(seqLen);
            out.write(header.flip());
            ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < sizes.length; t++) {
                float scale = (float) (1 / Math.sqrt(dim));
                for (long i = 0; i < sizes[t]; i++) {
                    chunk.putFloat(norms[t] ? 1f : (float) (random.nextDouble() * 2 - 1) * scale);
                    if (!chunk.hasRemaining()) {
                        out.write(chunk.flip());
                        chunk.clear();
                    }
                }
            }
            out.write(chunk.flip());
        }
        return file;
    }
}
