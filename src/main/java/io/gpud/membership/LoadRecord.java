package io.gpud.membership;

import java.util.Arrays;

/**
 * A member's load, sent by UDP to its region peers every {@code loadInterval} and never
 * gossiped: about 64 bytes on the wire, plus 6 bytes per prefix-cache name when it has any
 * to tell ({@link PrefixCaches}).
 *
 * @param node            the sender
 * @param sequence        increases with every record the sender sends; a reader keeps the
 *                        highest it has seen, so reordered or duplicated packets never
 *                        make load look older
 * @param sentAtMillis    the sender's wall clock when it sent the record (informational;
 *                        the reader measures age on its own clock from receipt)
 * @param queueDepth      sequences waiting to start
 * @param inFlight        sequences generating
 * @param tokensPerSecond tokens generated per second, recently
 * @param cacheEpoch      the sender's prefix-cache epoch: it changes when its engines start
 *                        afresh (restart, reload), and a reader then forgets every name it
 *                        knew of the sender. 0 with no cache news ({@link #NO_CACHE});
 *                        {@link #EMPTY_CACHE} when the sender has no cache any more
 * @param held            names of KV blocks the sender started holding (each implies every
 *                        block before it in its chain), newest first; at most
 *                        {@link #MAX_CACHE_NAMES}. Names are carried as their low
 *                        {@link #NAME_BITS} bits ({@link #wireName}): the constructor keeps
 *                        only those
 * @param dropped         names it announced before and has since evicted; at most
 *                        {@link #MAX_CACHE_NAMES}, kept to {@link #NAME_BITS} bits too
 */
public record LoadRecord(String node, long sequence, long sentAtMillis, int queueDepth, int inFlight,
                         float tokensPerSecond, long cacheEpoch, long[] held, long[] dropped) {

    /** The most names of each kind one record carries. */
    public static final int MAX_CACHE_NAMES = 32;
    /** {@link #cacheEpoch} of a record that says nothing about the sender's cache. */
    public static final long NO_CACHE = 0;
    /**
     * {@link #cacheEpoch} of a sender whose engines no longer cache prefixes (its models were
     * unloaded): a reader forgets every name it knew of the sender. A sender's real epochs
     * are never this value.
     */
    public static final long EMPTY_CACHE = -1;
    /**
     * Bits of a block name on the wire. A 64-bit name is cut to its low 48 bits everywhere a
     * peer's names are indexed or looked up, so two different prefixes are confused only
     * when 48 bits of their hashes coincide (2<sup>-48</sup> per pair of names).
     */
    public static final int NAME_BITS = 48;
    private static final long NAME_MASK = (1L << NAME_BITS) - 1;

    private static final long[] NONE = new long[0];

    public LoadRecord {
        if (held.length > MAX_CACHE_NAMES || dropped.length > MAX_CACHE_NAMES) {
            throw new IllegalArgumentException("a load record carries at most " + MAX_CACHE_NAMES
                    + " names of each kind, was " + held.length + " held and " + dropped.length + " dropped");
        }
        if (cacheEpoch == NO_CACHE && (held.length > 0 || dropped.length > 0)) {
            throw new IllegalArgumentException("cache names without a cache epoch");
        }
        if (cacheEpoch == EMPTY_CACHE && (held.length > 0 || dropped.length > 0)) {
            throw new IllegalArgumentException("cache names with the empty cache's epoch");
        }
        held = wireNames(held);
        dropped = wireNames(dropped);
    }

    /** {@code name} as the wire and every peer's index carry it: its low {@link #NAME_BITS} bits. */
    public static long wireName(long name) {
        return name & NAME_MASK;
    }

    private static long[] wireNames(long[] names) {
        if (names.length == 0) {
            return NONE;
        }
        long[] out = new long[names.length];
        for (int i = 0; i < names.length; i++) {
            out[i] = wireName(names[i]);
        }
        return out;
    }

    /** A record with no cache news. */
    public LoadRecord(String node, long sequence, long sentAtMillis, int queueDepth, int inFlight,
                      float tokensPerSecond) {
        this(node, sequence, sentAtMillis, queueDepth, inFlight, tokensPerSecond, NO_CACHE, NONE, NONE);
    }

    /** Whether it says anything about the sender's cache (an epoch, perhaps names). */
    public boolean hasCache() {
        return cacheEpoch != NO_CACHE;
    }

    /** This record with {@code node} and {@code sequence} as the sender stamps it. */
    LoadRecord stamped(String sender, long seq) {
        return new LoadRecord(sender, seq, sentAtMillis, queueDepth, inFlight, tokensPerSecond, cacheEpoch, held,
                dropped);
    }

    /** This record with cache news. */
    LoadRecord withCache(long epoch, long[] newlyHeld, long[] newlyDropped) {
        return new LoadRecord(node, sequence, sentAtMillis, queueDepth, inFlight, tokensPerSecond, epoch, newlyHeld,
                newlyDropped);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoadRecord r && node.equals(r.node) && sequence == r.sequence
                && sentAtMillis == r.sentAtMillis && queueDepth == r.queueDepth && inFlight == r.inFlight
                && Float.floatToIntBits(tokensPerSecond) == Float.floatToIntBits(r.tokensPerSecond)
                && cacheEpoch == r.cacheEpoch && Arrays.equals(held, r.held) && Arrays.equals(dropped, r.dropped);
    }

    @Override
    public int hashCode() {
        return (node.hashCode() * 31 + Long.hashCode(sequence)) * 31 + Arrays.hashCode(held);
    }

    @Override
    public String toString() {
        return "LoadRecord[" + node + " #" + sequence + " queue " + queueDepth + " in flight " + inFlight
                + (hasCache() ? " epoch " + cacheEpoch + " held " + held.length + " dropped " + dropped.length : "")
                + "]";
    }
}
