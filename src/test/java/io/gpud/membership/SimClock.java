package io.gpud.membership;

/** Simulated time in nanoseconds; only the simulator's event loop moves it forward. */
final class SimClock {
    private long nanos;

    long nanos() {
        return nanos;
    }

    void advanceTo(long t) {
        if (t < nanos) {
            throw new IllegalStateException("time cannot go back from " + nanos + " to " + t);
        }
        nanos = t;
    }

    static long ms(double millis) {
        return (long) (millis * 1_000_000L);
    }

    static long s(double seconds) {
        return (long) (seconds * 1_000_000_000L);
    }
}
