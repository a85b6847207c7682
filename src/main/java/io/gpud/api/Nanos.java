package io.gpud.api;

/** The API's one reading of the monotonic clock, for latencies and Ollama's durations. */
final class Nanos {

    private Nanos() {
    }

    static long now() {
        return System.nanoTime();
    }

    static double secondsSince(long startNanos) {
        return (now() - startNanos) / 1e9;
    }
}
