import io.gpud.core.MonotonicClock;
import io.gpud.model.ByteSource;
import io.gpud.model.ChunkListener;
import io.gpud.model.ChunkLoader;
import io.gpud.model.LoadOutcome;
import io.gpud.model.Manifest;
import io.gpud.model.ModelStore;
import io.gpud.model.ThrottledByteSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The loader benchmark (bench/loader.sh). Writes one model version of BENCH_SIZE bytes,
 * publishes it, then measures, interleaving subject and reference and repeating:
 * warm (page cache) loader vs dd, cold (evicted with dd iflag=nocache, eviction checked
 * with fincore) loader vs dd, the loader against a token-bucket source at BENCH_RATE with
 * each reader's busy fraction, and the loader with no checksums, CRC32C, CRC32C + SHA-256.
 * Prints the median and the spread of each ratio.
 */
public class LoaderBench {
    static final long SIZE = sizeEnv("BENCH_SIZE", 4L << 30);
    static final int REPEATS = (int) sizeEnv("BENCH_REPEATS", 5);
    static final int READERS = (int) sizeEnv("BENCH_READERS", 8);
    static final long CHUNK = sizeEnv("BENCH_CHUNK", 256L << 20);
    static final boolean WITH_SHA = !"0".equals(System.getenv("BENCH_SHA"));
    static final long SUB_READ = sizeEnv("BENCH_SUB_READ", 1L << 20);

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]).toAbsolutePath();
        Path dir = work.resolve("store/bench/v1");
        Path file = dir.resolve("model.gguf");
        long rate = sizeEnv("BENCH_RATE", SIZE / 30);
        try {
            System.out.printf("file %s: %.2f GB, %d chunks of %d MiB, %d readers, sub-reads of %d MiB, %d repeats%n",
                    file, SIZE / 1e9, (SIZE + CHUNK - 1) / CHUNK, CHUNK >> 20, READERS, SUB_READ >> 20, REPEATS);
            write(file);
            long t0 = System.nanoTime();
            Manifest manifest = ModelStore.publish(dir, CHUNK);
            System.out.printf("published in %.1f s (sequential CRC32C + SHA-256)%n", (System.nanoTime() - t0) / 1e9);

            // warm: page cache holds the file; one untimed load lets the JIT compile the loader
            dd(file);
            load(dir, manifest, true, false, ByteSource.files());
            var warm = new Pairs();
            for (int i = 0; i < REPEATS; i++) {
                double loader = load(dir, manifest, true, false, ByteSource.files()).bytesPerSecond();
                double ref = dd(file);
                System.out.printf("  warm  %d: loader %7.0f MB/s  dd %7.0f MB/s  resident %3.0f%%%n", i, loader / 1e6,
                        ref / 1e6, 100.0 * resident(file) / SIZE);
                warm.add(loader, ref);
            }
            // cold: evicted before every read, eviction checked
            var cold = new Pairs();
            for (int i = 0; i < REPEATS; i++) {
                double before1 = evict(file);
                double ref = dd(file);
                double before2 = evict(file);
                double loader = load(dir, manifest, true, false, ByteSource.files()).bytesPerSecond();
                System.out.printf("  cold  %d: loader %7.0f MB/s  dd %7.0f MB/s  (resident after eviction: %.1f%% / %.1f%%)%n",
                        i, loader / 1e6, ref / 1e6, before1 * 100, before2 * 100);
                cold.add(loader, ref);
            }
            // checksums: none vs CRC32C vs CRC32C + SHA-256, warm
            dd(file);
            var crc = new Pairs();
            var sha = new Pairs();
            for (int i = 0; i < REPEATS; i++) {
                boolean crcFirst = i % 2 == 0;
                double first = load(dir, manifest, crcFirst, false, ByteSource.files()).elapsed().toNanos();
                double second = load(dir, manifest, !crcFirst, false, ByteSource.files()).elapsed().toNanos();
                double none = crcFirst ? second : first;
                double c = crcFirst ? first : second;
                double s = WITH_SHA ? load(dir, manifest, true, true, ByteSource.files()).elapsed().toNanos()
                        : Double.NaN;
                System.out.printf("  sums  %d: none %.2f s  CRC32C %.2f s  CRC32C+SHA-256 %.2f s%n", i, none / 1e9,
                        c / 1e9, s / 1e9);
                crc.addTimes(c, none);
                sha.addTimes(s, none);
            }
            // checksums when the storage is the limit: cold, evicted before each run
            var crcCold = new Pairs();
            for (int i = 0; i < REPEATS; i++) {
                // alternate which goes first, so neither always follows the other
                double none = 0;
                double c = 0;
                for (int k = 0; k < 2; k++) {
                    boolean crcNow = (k + i) % 2 == 0;
                    evict(file);
                    double t = load(dir, manifest, crcNow, false, ByteSource.files()).elapsed().toNanos();
                    if (crcNow) {
                        c = t;
                    } else {
                        none = t;
                    }
                }
                System.out.printf("  sums cold %d: none %.2f s  CRC32C %.2f s%n", i, none / 1e9, c / 1e9);
                crcCold.addTimes(c, none);
            }
            dd(file);
            // capped: a token bucket at `rate` over the warm file
            var capped = new ThrottledByteSource(ByteSource.files(), rate, MonotonicClock.system());
            LoadOutcome.Loaded cap = load(dir, manifest, true, false, capped);
            double minBusy = cap.readerBusy().stream().min(Comparator.naturalOrder()).orElse(0.0);
            System.out.printf("  capped: loader %.1f MB/s at a cap of %.1f MB/s; reader busy %s%n",
                    cap.bytesPerSecond() / 1e6, rate / 1e6, cap.readerBusy().stream()
                            .map(b -> String.format("%.0f%%", b * 100)).toList());

            System.out.println();
            System.out.println("result (median ratio, [min, max] over the repeats)");
            System.out.printf("  loader / dd, page cache warm : %s   (target >= 0.75)%n", warm.summary());
            System.out.printf("  loader / dd, cold            : %s   (target >= 0.85)%n", cold.summary());
            System.out.printf("  loader / cap (%.0f MB/s)     : %.3f            (target >= 0.90; slowest reader busy %.0f%%, target >= 90%%)%n",
                    rate / 1e6, cap.bytesPerSecond() / rate, minBusy * 100);
            System.out.printf("  load time CRC32C / none, warm: %s   (target <= 1.05)%n", crc.summary());
            System.out.printf("  load time CRC32C / none, cold: %s   (target <= 1.05)%n", crcCold.summary());
            System.out.printf("  load time +SHA-256 / none    : %s%n", sha.summary());
        } finally {
            Files.deleteIfExists(dir.resolve(Manifest.FILE_NAME));
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
            Files.deleteIfExists(dir.getParent());
            Files.deleteIfExists(dir.getParent().getParent());
        }
    }

    /** Ratios subject / reference of interleaved runs, and the ratio of the best of each. */
    static final class Pairs {
        final List<Double> ratios = new ArrayList<>();
        double bestSubject = Double.NaN;
        double bestReference = Double.NaN;

        /** Rates: higher is better. */
        void add(double subject, double reference) {
            ratios.add(subject / reference);
            bestSubject = Double.isNaN(bestSubject) ? subject : Math.max(bestSubject, subject);
            bestReference = Double.isNaN(bestReference) ? reference : Math.max(bestReference, reference);
        }

        /** Times: lower is better. */
        void addTimes(double subject, double reference) {
            ratios.add(subject / reference);
            bestSubject = Double.isNaN(bestSubject) ? subject : Math.min(bestSubject, subject);
            bestReference = Double.isNaN(bestReference) ? reference : Math.min(bestReference, reference);
        }

        String summary() {
            List<Double> s = ratios.stream().sorted().toList();
            return String.format("median %.3f [%.3f, %.3f], best/best %.3f", s.get(s.size() / 2), s.getFirst(),
                    s.getLast(), bestSubject / bestReference);
        }
    }

    static LoadOutcome.Loaded load(Path dir, Manifest m, boolean crc, boolean sha, ByteSource source) {
        var loader = new ChunkLoader(new ChunkLoader.Settings(READERS, SUB_READ, crc, sha, true), source,
                MonotonicClock.system());
        return switch (loader.load(dir, m, ChunkListener.NONE)) {
            case LoadOutcome.Loaded ok -> ok;
            case LoadOutcome.Failed bad -> throw new IllegalStateException("load failed: " + bad.describe());
        };
    }

    /** Pseudo-random bytes (incompressible, so no layer can shortcut them), flushed to disk. */
    static void write(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        var random = new SplittableRandom(1);
        ByteBuffer block = ByteBuffer.allocateDirect(64 << 20);
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long written = 0; written < SIZE; ) {
                block.clear();
                while (block.remaining() >= 8) {
                    block.putLong(random.nextLong());
                }
                block.flip().limit((int) Math.min(block.limit(), SIZE - written));
                while (block.hasRemaining()) {
                    written += ch.write(block);
                }
            }
            ch.force(true);
        }
        System.out.printf("wrote %.2f GB in %.1f s%n", SIZE / 1e9, (System.nanoTime() - t0) / 1e9);
    }

    private static final Pattern DD_BYTES = Pattern.compile("(\\d+) bytes .* copied, ([0-9.,e+-]+) s");

    /** dd's own figure for reading the whole file in 8 MiB blocks, bytes per second. */
    static double dd(Path file) throws Exception {
        String out = run("dd", "if=" + file, "of=/dev/null", "bs=8M");
        Matcher m = DD_BYTES.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("cannot read dd's output: " + out);
        }
        return Long.parseLong(m.group(1)) / Double.parseDouble(m.group(2).replace(',', '.'));
    }

    /** Drops the file from the page cache (posix_fadvise DONTNEED through dd); returns the fraction still resident. */
    static double evict(Path file) throws Exception {
        run("dd", "if=" + file, "iflag=nocache", "count=0", "status=none");
        double left = (double) resident(file) / SIZE;
        if (left > 0.05) {
            throw new IllegalStateException(String.format("eviction failed: %.1f%% of %s still in the page cache",
                    left * 100, file));
        }
        return left;
    }

    /** Bytes of the file in the page cache, as fincore reports them. */
    static long resident(Path file) throws Exception {
        return Long.parseLong(run("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString()).strip());
    }

    static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    static long sizeEnv(String name, long fallback) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        Matcher m = Pattern.compile("(\\d+)\\s*(|KiB|MiB|GiB)").matcher(v.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException(name + " was '" + v + "', must be a size such as 4GiB");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "KiB" -> n << 10;
            case "MiB" -> n << 20;
            case "GiB" -> n << 30;
            default -> n;
        };
    }
}
