package io.gpud.routing;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests this node sent to each peer in the last moments, which the peer's load record
 * cannot show yet: a record taken at {@code since} shows only what was sent before it, so
 * what was sent after it is counted here.
 * Without this, every decision between two load records would see the same idle peer and
 * send it everything (herding). Each peer keeps the times of its last {@value #SLOTS}
 * sends in a {@link Ring}, which the router's candidate table holds per host, so a
 * decision reads it without a lookup by name.
 */
final class RecentSends {

    static final int SLOTS = 256;

    /**
     * One peer's last sends, oldest to newest. The newest time is published on its own, so
     * that the common question, "anything since the last load record?", is answered by one
     * volatile read without the lock.
     */
    static final class Ring {
        private long[] times; // (SLOTS) send instants (nanos), a ring in time order; made on the first send
        private int next;
        private int size;
        private volatile boolean any;
        private volatile long newest;

        synchronized void add(long now) {
            if (times == null) {
                times = new long[SLOTS];
            }
            // Keep time order even when a racing sender took its time earlier but got here later.
            int at = next;
            int moved = 0;
            while (moved < size && times[(at - 1 + SLOTS) % SLOTS] - now > 0 && moved < SLOTS - 1) {
                int prev = (at - 1 + SLOTS) % SLOTS;
                times[at] = times[prev];
                at = prev;
                moved++;
            }
            times[at] = now;
            next = (next + 1) % SLOTS;
            size = Math.min(SLOTS, size + 1);
            newest = times[(next - 1 + SLOTS) % SLOTS];
            any = true;
        }

        /** Sends after {@code since}. */
        int countAfter(long since) {
            if (!any || newest - since <= 0) {
                return 0;
            }
            synchronized (this) {
                int n = 0;
                for (int i = 1; i <= size; i++) {
                    if (times[(next - i + SLOTS) % SLOTS] - since <= 0) {
                        break;
                    }
                    n++;
                }
                return n;
            }
        }
    }

    private final ConcurrentHashMap<String, Ring> rings = new ConcurrentHashMap<>();

    /** The ring of {@code node}, made on first use. */
    Ring ring(String node) {
        Ring r = rings.get(node);
        return r != null ? r : rings.computeIfAbsent(node, n -> new Ring());
    }

    /** This node sent a request to {@code node} at {@code nowNanos}. */
    void record(String node, long nowNanos) {
        ring(node).add(nowNanos);
    }

    /** How many peers have a ring. */
    int size() {
        return rings.size();
    }

    /** Forgets every peer not in {@code known} (gone from the cluster), so the table stays bounded. */
    void retainOnly(Set<String> known) {
        rings.keySet().retainAll(known);
    }
}
