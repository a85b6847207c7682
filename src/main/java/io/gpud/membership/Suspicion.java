package io.gpud.membership;

import io.gpud.config.MembershipConfig;
import java.util.HashSet;
import java.util.Set;

/**
 * A suspicion this node holds of another member, with its Lifeguard timer (after
 * memberlist's {@code suspicion.go}, on the protocol's clock instead of a timer).
 *
 * <p>The timeout starts at {@code max = suspicionMaxMult × min} and shrinks toward
 * {@code min = suspicionMult × max(1, log10(N)) × probeInterval} as other members confirm
 * the suspicion independently: {@code max − (max − min) × log(c + 1) / log(k + 1)} after
 * {@code c} confirmations, where {@code k} of them are expected (the indirect checks, fewer
 * in a tiny cluster). One confused accuser alone therefore waits the maximum, which gives
 * a healthy member on a lossy path the time to refute. The deadline is measured from when
 * the suspicion began, so a late confirmation can make it due at once.
 */
final class Suspicion {
    /** The incarnation suspected: a refutation raises it and ends the suspicion. */
    final long incarnation;
    private final long startNanos;
    private final long minNanos;
    private final long maxNanos;
    private final int expected;
    /** The members that accused, the first included. */
    private final Set<String> confirmations = new HashSet<>();
    private long deadlineNanos;

    private Suspicion(long incarnation, String from, long start, long min, long max, int expected) {
        this.incarnation = incarnation;
        this.startNanos = start;
        this.minNanos = min;
        this.maxNanos = max;
        this.expected = expected;
        confirmations.add(from);
        recompute();
    }

    /**
     * A suspicion of a member at {@code incarnation}, raised by {@code from} at {@code now},
     * in a pool of {@code live} members alive or suspect.
     */
    static Suspicion start(long incarnation, String from, long now, MembershipConfig config, int live) {
        long min = minTimeout(config, live);
        int expected = Math.max(0, Math.min(config.indirectChecks(), live - 2));
        return new Suspicion(incarnation, from, now, min, min * config.suspicionMaxMult(), expected);
    }

    /** suspicionMult × max(1, log10(N)) × probeInterval, in nanoseconds. */
    static long minTimeout(MembershipConfig config, int n) {
        double factor = Math.max(1.0, Math.log10(Math.max(1, n)));
        return (long) (config.suspicionMult() * factor * config.probeInterval().toNanos());
    }

    /** Counts {@code from}'s accusation; true when it is a new one, which moves the deadline. */
    boolean confirm(String from) {
        if (!confirmations.add(from)) {
            return false;
        }
        recompute();
        return true;
    }

    /** When the suspect is declared dead unless it refutes first. */
    long deadline() {
        return deadlineNanos;
    }

    private void recompute() {
        int c = confirmations.size() - 1;
        long timeout = maxNanos;
        if (expected > 0 && c > 0) {
            double frac = Math.log(c + 1.0) / Math.log(expected + 1.0);
            timeout = Math.max(minNanos, (long) (maxNanos - (maxNanos - minNanos) * frac));
        } else if (expected <= 0) {
            timeout = minNanos;
        }
        deadlineNanos = startNanos + timeout;
    }
}
