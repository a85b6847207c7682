package io.gpud.routing;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests this node sent to each peer in the last moments, which the peer's load record
 * cannot show yet: a record that arrived {@code age} ago counts only what was sent before
 * it. Without this, every decision between two load records would see the same idle peer
 * and send it everything (herding). Each peer keeps the times of its last
 * {@value #SLOTS} sends.
 */
final class RecentSends {

    static final int SLOTS = 256;

    private static final class Ring {
        private final long[] times = new long[SLOTS];
        private int next;
        private int size;

        synchronized void add(long now) {
            times[next] = now;
            next = (next + 1) % SLOTS;
            size = Math.min(SLOTS, size + 1);
        }

        synchronized int countAfter(long since) {
            int n = 0;
            for (int i = 0; i < size; i++) {
                if (times[i] - since > 0) {
                    n++;
                }
            }
            return n;
        }
    }

    private final ConcurrentHashMap<String, Ring> rings = new ConcurrentHashMap<>();

    /** This node sent a request to {@code node} at {@code nowNanos}. */
    void record(String node, long nowNanos) {
        rings.computeIfAbsent(node, n -> new Ring()).add(nowNanos);
    }

    /** Requests sent to {@code node} after {@code sinceNanos}. */
    int sentAfter(String node, long sinceNanos) {
        Ring r = rings.get(node);
        return r == null ? 0 : r.countAfter(sinceNanos);
    }

    /** Forgets a peer. */
    void forget(String node) {
        rings.remove(node);
    }
}
