package io.gpud.inference;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Splits a loop over {@code [0, n)} into one contiguous range per thread, the calling thread
 * taking the first, when the work is large enough to pay for the hand-off; otherwise the
 * caller runs it all. Which range a thread gets never changes a result: each index is
 * computed the same way wherever it runs.
 */
final class Parallel implements AutoCloseable {
    /** Multiply-adds below which a product stays on the calling thread (a hand-off costs microseconds). */
    static final long MIN_PARALLEL_WORK = 1L << 18;
    private static final Parallel SINGLE = new Parallel(1);

    /** The body of a loop over {@code [from, to)}. */
    @FunctionalInterface
    interface Range {
        void run(int from, int to);
    }

    private final int threads;
    private final ExecutorService helpers;

    /** A splitter over {@code threads} threads: the caller and {@code threads − 1} helpers. */
    Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads was " + threads + ", must be at least 1");
        }
        this.threads = threads;
        this.helpers = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, Thread.ofPlatform()
                .name("gpud-kernel-", 0).daemon(true).factory());
    }

    /** Runs everything on the calling thread. */
    static Parallel single() {
        return SINGLE;
    }

    int threads() {
        return threads;
    }

    void forRange(int n, long work, Range body) {
        int parts = (int) Math.min(threads, Math.min(n, work / MIN_PARALLEL_WORK));
        if (parts <= 1) {
            body.run(0, n);
            return;
        }
        var done = new CountDownLatch(parts - 1);
        var failure = new AtomicReference<Throwable>();
        for (int p = 1; p < parts; p++) {
            int from = (int) ((long) n * p / parts);
            int to = (int) ((long) n * (p + 1) / parts);
            helpers.execute(() -> {
                try {
                    body.run(from, to);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            });
        }
        body.run(0, n / parts);
        awaitUninterruptibly(done);
        if (failure.get() != null) {
            throw new InferenceException("a kernel thread failed: " + failure.get(), failure.get());
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (helpers != null) {
            helpers.shutdownNow();
        }
    }
}
