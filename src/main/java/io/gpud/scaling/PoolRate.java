package io.gpud.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * A pool's requests per second over a sliding window, from each node's own cumulative
 * request counter.
 *
 * <p>Each node's rate is the growth of its counter between its newest sample and the
 * newest sample at least one window older (its oldest, while it is younger than a
 * window), over the time between them; the pool's rate is the sum. A counter that went
 * down (the node restarted) counts from zero. A node with no sample in the last window
 * has left the pool. Not thread-safe: one owner feeds and reads it.
 */
public final class PoolRate {

    private record Sample(Instant at, long count) {
    }

    private final Duration window;
    private final Map<String, ArrayDeque<Sample>> nodes = new HashMap<>();
    private Instant firstSample;

    public PoolRate(Duration window) {
        if (window == null || window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("window was " + window + ", must be positive");
        }
        this.window = window;
    }

    /** Records that {@code node}'s counter read {@code count} at {@code at}; older or repeated samples are ignored. */
    public void record(String node, Instant at, long count) {
        if (count < 0) {
            throw new IllegalArgumentException("count for node " + node + " was " + count + ", must be >= 0");
        }
        var samples = nodes.computeIfAbsent(node, n -> new ArrayDeque<>());
        if (!samples.isEmpty() && !at.isAfter(samples.peekLast().at())) {
            return;
        }
        samples.addLast(new Sample(at, count));
        if (firstSample == null || at.isBefore(firstSample)) {
            firstSample = at;
        }
    }

    /** Whether the samples reach back a whole window before {@code now}. */
    public boolean windowFull(Instant now) {
        return firstSample != null && !firstSample.isAfter(now.minus(window));
    }

    /** The pool's requests per second at {@code now}; drops what is too old to matter. */
    public double rps(Instant now) {
        Instant windowStart = now.minus(window);
        double total = 0;
        for (Iterator<ArrayDeque<Sample>> it = nodes.values().iterator(); it.hasNext(); ) {
            ArrayDeque<Sample> samples = it.next();
            if (samples.peekLast().at().isBefore(windowStart)) {
                it.remove();
                continue;
            }
            // keep exactly one sample at or before the window start: the base of the rate
            while (samples.size() > 1 && !samplesSecond(samples).at().isAfter(windowStart)) {
                samples.removeFirst();
            }
            Sample base = samples.peekFirst();
            Sample last = samples.peekLast();
            double seconds = Duration.between(base.at(), last.at()).toNanos() / 1e9;
            if (seconds <= 0) {
                continue;
            }
            long grown = last.count() >= base.count() ? last.count() - base.count() : last.count();
            total += grown / seconds;
        }
        return total;
    }

    private static Sample samplesSecond(ArrayDeque<Sample> samples) {
        Iterator<Sample> it = samples.iterator();
        it.next();
        return it.next();
    }
}
