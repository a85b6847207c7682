package io.gpud.core;

/**
 * Elapsed time in nanoseconds from an arbitrary origin, for measuring durations (leases,
 * timeouts). Injected wherever durations are measured, so tests and simulations can run
 * on their own time; {@link #system()} is the one place that reads the JVM's timer.
 */
@FunctionalInterface
public interface MonotonicClock {

    /** Nanoseconds since an arbitrary origin; only differences mean anything. */
    long nanos();

    /** The JVM's monotonic timer. */
    static MonotonicClock system() {
        return System::nanoTime;
    }
}
