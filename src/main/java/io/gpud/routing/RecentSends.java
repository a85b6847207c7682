package io.gpud.routing;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Requests this node sent to each peer, as far as the peer's load record cannot show them
 * yet. A record taken at {@code since} shows only what the peer had received before it,
 * so two things are counted here:
 * <ul>
 * <li>the sends after {@code since}: without them, every decision between two load records
 * would see the same idle peer and send it everything (herding);
 * <li>the forwards not yet finished: a request sent just before the record but not yet
 * accepted by the peer (on the wire, in its accept queue during a burst) is in neither
 * count, and a peer that accepts slowly would look idle and draw more.
 * </ul>
 * Each peer keeps the times of its last {@value #SLOTS} sends and its count of unfinished
 * forwards in a {@link Ring}, which the router's candidate table holds per host, so a
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
        private final AtomicInteger unfinished = new AtomicInteger();

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

        /** Forwards to this peer that have begun and not yet ended. */
        int unfinished() {
            return unfinished.get();
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

    /** This node sent a request to {@code node} at {@code nowNanos}; it is unfinished until {@link #finished}. */
    void record(String node, long nowNanos) {
        Ring r = ring(node);
        r.add(nowNanos);
        r.unfinished.incrementAndGet();
    }

    /**
     * A forward to {@code node} ended (answered in full, refused or failed). A peer dropped
     * and listed again meanwhile has a new ring, which is not taken below 0.
     */
    void finished(String node) {
        Ring r = rings.get(node);
        if (r != null) {
            r.unfinished.getAndUpdate(n -> n > 0 ? n - 1 : 0);
        }
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
