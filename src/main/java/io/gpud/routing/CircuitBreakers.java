package io.gpud.routing;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One circuit breaker per peer. Closed: requests pass and consecutive failures are counted;
 * {@code threshold} of them in a row open it. Open: the peer is not routed to for
 * {@code openForNanos}; then it is half-open and exactly one request goes through as a
 * probe: success closes the circuit, failure opens it again for another period.
 *
 * <p>The router's candidate table holds each host's {@link Breaker}, so a decision asks
 * {@link Breaker#state} without a lookup by name; a closed breaker answers with one
 * volatile read, without its lock.
 */
final class CircuitBreakers {

    /** What a breaker says about a peer now. */
    enum State { CLOSED, OPEN, HALF_OPEN }

    /** One peer's breaker. */
    static final class Breaker {
        private int failures;
        private long openUntil;
        private volatile boolean open;
        private boolean probing;

        /** The state at {@code now}, without taking the half-open probe. */
        State state(long now) {
            if (!open) {
                return State.CLOSED;
            }
            synchronized (this) {
                if (!open) {
                    return State.CLOSED;
                }
                return now - openUntil >= 0 && !probing ? State.HALF_OPEN : State.OPEN;
            }
        }
    }

    private final int threshold;
    private final long openForNanos;
    private final ConcurrentHashMap<String, Breaker> breakers = new ConcurrentHashMap<>();

    CircuitBreakers(int threshold, long openForNanos) {
        this.threshold = threshold;
        this.openForNanos = openForNanos;
    }

    /** The breaker of {@code node}, made (closed) on first use. */
    Breaker breaker(String node) {
        Breaker b = breakers.get(node);
        return b != null ? b : breakers.computeIfAbsent(node, n -> new Breaker());
    }

    /** How many peers have a breaker. */
    int size() {
        return breakers.size();
    }

    /** Forgets every peer not in {@code known} (gone from the cluster), so the table stays bounded. */
    void retainOnly(Set<String> known) {
        breakers.keySet().retainAll(known);
    }

    /** May a request go to {@code node} now? In half-open, only the first asker may. */
    boolean tryAcquire(String node, long now) {
        Breaker b = breakers.get(node);
        if (b == null) {
            return true;
        }
        synchronized (b) {
            if (!b.open) {
                return true;
            }
            if (now - b.openUntil >= 0 && !b.probing) {
                b.probing = true;
                return true;
            }
            return false;
        }
    }

    /** A request to {@code node} succeeded: the circuit closes. */
    void success(String node) {
        Breaker b = breakers.get(node);
        if (b != null) {
            synchronized (b) {
                b.failures = 0;
                b.open = false;
                b.probing = false;
            }
        }
    }

    /** A request to {@code node} failed; returns true when this opened (or re-opened) its circuit. */
    boolean failure(String node, long now) {
        Breaker b = breaker(node);
        synchronized (b) {
            b.failures++;
            if (b.probing || !b.open && b.failures >= threshold) {
                b.open = true;
                b.probing = false;
                b.openUntil = now + openForNanos;
                return true;
            }
            return false;
        }
    }
}
