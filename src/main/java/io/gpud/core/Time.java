package io.gpud.core;

import java.time.Duration;
import java.time.Instant;

/**
 * The node's clock, the one passed to everything that reads time: monotonic nanoseconds for
 * durations and deadlines ({@link MonotonicClock}), wall time for timestamps
 * ({@link java.time.InstantSource}), and sleeping. The composition root makes one
 * ({@link #system()} in a daemon) and hands it, or the narrower view a part needs, down;
 * tests and simulations pass their own.
 */
public interface Time extends MonotonicClock, java.time.InstantSource {

    /** Waits {@code duration} of this clock's time. */
    void sleep(Duration duration) throws InterruptedException;

    /** The JVM's clocks: {@link System#nanoTime()}, the system's UTC clock, {@link Thread#sleep}. */
    static Time system() {
        return SystemTime.INSTANCE;
    }

    /** What {@link #system()} is. */
    enum SystemTime implements Time {
        INSTANCE;

        @Override
        public long nanos() {
            return System.nanoTime();
        }

        @Override
        public Instant instant() {
            return Instant.now();
        }

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            Thread.sleep(duration);
        }
    }
}
