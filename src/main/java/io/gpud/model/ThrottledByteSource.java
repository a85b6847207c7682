package io.gpud.model;

import io.gpud.core.MonotonicClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * A source whose total read rate, over all threads and files, is capped by a token bucket:
 * each read reserves its bytes and waits until the bucket has paid for them. Reservations
 * are first come, first served, so concurrent readers share the rate evenly. The loader
 * uses it for {@code store.maxBytesPerSecond}; the benchmark uses it as a stand-in for a
 * file system with a fixed throughput (FSx for Lustre).
 */
public final class ThrottledByteSource implements ByteSource {
    private final ByteSource inner;
    private final long bytesPerSecond;
    private final long burstNanos;
    private final MonotonicClock clock;
    private long nextFreeNanos; // guarded by this: when the bucket has paid for every reservation so far

    /**
     * @param inner          the source whose reads are paced
     * @param bytesPerSecond the cap, more than zero
     * @param clock          the time the bucket fills by
     */
    public ThrottledByteSource(ByteSource inner, long bytesPerSecond, MonotonicClock clock) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("bytesPerSecond was " + bytesPerSecond + ", must be positive");
        }
        this.inner = inner;
        this.bytesPerSecond = bytesPerSecond;
        this.clock = clock;
        this.burstNanos = 50_000_000L; // a reader idle for a moment may catch up by at most 50 ms of rate
        this.nextFreeNanos = clock.nanos();
    }

    @Override
    public Handle open(Path file) throws IOException {
        Handle h = inner.open(file);
        return new Handle() {
            @Override
            public long size() throws IOException {
                return h.size();
            }

            @Override
            public int read(ByteBuffer dst, long position) throws IOException {
                awaitTokens(dst.remaining());
                return h.read(dst, position);
            }

            @Override
            public void close() throws IOException {
                h.close();
            }
        };
    }

    /** Reserves {@code bytes} and parks until they are paid for. */
    private void awaitTokens(long bytes) throws IOException {
        long cost = (long) (bytes * 1e9 / bytesPerSecond);
        long due;
        synchronized (this) {
            long now = clock.nanos();
            nextFreeNanos = Math.max(nextFreeNanos, now - burstNanos) + cost;
            due = nextFreeNanos;
        }
        long wait;
        while ((wait = due - clock.nanos()) > 0) {
            LockSupport.parkNanos(wait);
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while throttled");
            }
        }
    }
}
