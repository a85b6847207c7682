package io.gpud.membership;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The membership facts waiting to be gossiped (after memberlist's
 * {@code TransmitLimitedQueue}). One entry per subject: a newer fact about a member
 * replaces the older one, whatever was sent of it. Each fact is encoded once, when queued,
 * and every packet that carries it copies those bytes. Packets take the least-sent facts
 * first, and a fact leaves the queue once it went out {@code limit} times (the caller's
 * {@code retransmitMult × ceil(log10(N + 1))}). Bounded at {@code max(64, 4 × members)}:
 * past that, the most-sent facts are dropped, as they have spread furthest.
 */
final class BroadcastQueue {

    /** A queued fact and how often it went out. */
    private static final class Broadcast {
        final String about;
        final byte[] encoded;
        /** Its share of a compound packet: the bytes and their length prefix. */
        final int size;
        /** Sent this many times the caller's limit before it leaves the queue. */
        final int limitFactor;
        int transmits;

        Broadcast(String about, Message message, int limitFactor) {
            this.about = about;
            this.encoded = Codec.encode(message);
            this.size = encoded.length + 2;
            this.limitFactor = limitFactor;
        }
    }

    private final List<Broadcast> queue = new ArrayList<>();
    /** The queued broadcast about each subject, so a newer fact replaces the older in O(1). */
    private final Map<String, Broadcast> queued = new HashMap<>();

    boolean isEmpty() {
        return queue.isEmpty();
    }

    /**
     * Queues {@code message} about {@code about} (a member id, or another key unique to the
     * fact), replacing what was queued about it.
     *
     * @param members     the members in the table, which sets the bound
     * @param limitFactor how many times the usual number of transmissions it gets: 1 for a
     *                    membership fact, which push-pull repairs if gossip missed a member;
     *                    more for a fact nothing else repairs
     */
    void add(String about, Message message, int members, int limitFactor) {
        Broadcast old = queued.remove(about);
        if (old != null) {
            queue.remove(old);
        }
        var b = new Broadcast(about, message, limitFactor);
        queue.add(b);
        queued.put(about, b);
        int cap = Math.max(64, 4 * members);
        if (queue.size() > cap) {
            sortLeastSentFirst();
            for (Broadcast dropped : queue.subList(cap, queue.size())) {
                queued.remove(dropped.about);
            }
            queue.subList(cap, queue.size()).clear();
        }
    }

    /**
     * Adds to {@code out} the encoded least-sent facts that fit {@code budget} bytes (at
     * most {@code Codec.MAX_PARTS - 2} of them), counting one transmission each; a fact
     * sent {@code limit} times (times its factor) leaves the queue.
     */
    void take(int budget, int limit, List<byte[]> out) {
        if (queue.isEmpty()) {
            return;
        }
        sortLeastSentFirst();
        int taken = 0;
        int used = 0;
        for (Iterator<Broadcast> it = queue.iterator(); it.hasNext() && taken < Codec.MAX_PARTS - 2; ) {
            Broadcast b = it.next();
            if (used + b.size > budget) {
                continue;
            }
            out.add(b.encoded);
            taken++;
            used += b.size;
            if (++b.transmits >= limit * b.limitFactor) {
                it.remove();
                queued.remove(b.about);
            }
        }
    }

    /** A stable sort: among facts sent equally often, the older goes first. */
    private void sortLeastSentFirst() {
        queue.sort((x, y) -> Integer.compare(x.transmits, y.transmits));
    }
}
