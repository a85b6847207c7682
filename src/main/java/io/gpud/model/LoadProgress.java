package io.gpud.model;

import io.gpud.core.MonotonicClock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How far one load has come, updated by the readers and read by logs, {@code gpud status}
 * and metrics from any thread.
 */
public final class LoadProgress {
    private final String model;
    private final long totalBytes;
    private final MonotonicClock clock;
    private final long startNanos;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong verifiedChunks = new AtomicLong();
    private volatile long endNanos = -1;

    LoadProgress(String model, long totalBytes, MonotonicClock clock) {
        this.model = model;
        this.totalBytes = totalBytes;
        this.clock = clock;
        this.startNanos = clock.nanos();
    }

    void addBytes(long n) {
        bytes.addAndGet(n);
    }

    void chunkVerified() {
        verifiedChunks.incrementAndGet();
    }

    void finish() {
        endNanos = clock.nanos();
    }

    /** A consistent-enough view for display. */
    public Snapshot snapshot() {
        long end = endNanos;
        long now = end >= 0 ? end : clock.nanos();
        long done = bytes.get();
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        double rate = done / seconds;
        Duration eta = end >= 0 ? Duration.ZERO
                : rate > 0 ? Duration.ofMillis((long) ((totalBytes - done) / rate * 1000)) : null;
        return new Snapshot(model, done, totalBytes, verifiedChunks.get(), rate,
                Duration.ofNanos(now - startNanos), eta, end >= 0);
    }

    /**
     * @param model          {@code name@version}
     * @param bytes          bytes read so far
     * @param totalBytes     bytes the load reads in all
     * @param verifiedChunks chunks whose checksums matched
     * @param bytesPerSecond average rate since the start
     * @param elapsed        time since the start (until the end, once finished)
     * @param eta            time left at the average rate; null before the first byte
     * @param finished       whether the load has ended (either way)
     */
    public record Snapshot(String model, long bytes, long totalBytes, long verifiedChunks, double bytesPerSecond,
                           Duration elapsed, Duration eta, boolean finished) {

        /** One line for logs and the CLI. */
        public String describe() {
            return String.format("%s: %.0f / %.0f MB (%.0f%%), %.1f MB/s, %s", model, bytes / 1e6, totalBytes / 1e6,
                    totalBytes == 0 ? 100.0 : 100.0 * bytes / totalBytes, bytesPerSecond / 1e6,
                    finished ? "took " + elapsed.toMillis() / 1000.0 + " s"
                            : eta == null ? "ETA unknown" : "ETA " + eta.toSeconds() + " s");
        }
    }
}
