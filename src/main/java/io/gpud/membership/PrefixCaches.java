package io.gpud.membership;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * What the KV prefix caches of this region's hosts hold, as far as their load records have
 * told: the router's view of where a request's prompt is already computed.
 *
 * <h2>What a host tells</h2>
 * An engine names each full KV block by a hash chained over every token before it
 * ({@code inference.PrefixHashes}), so holding the block named h<sub>k</sub> implies holding
 * h<sub>1</sub>..h<sub>k-1</sub>. It announces only the deepest block of each prompt it
 * prefilled and each sequence it finished, and later the announced names it evicted
 * ({@link Source}). These names ride on the load channel (never the gossip queue): each
 * {@link LoadRecord} carries at most {@link LoadRecord#MAX_CACHE_NAMES} newly held and as
 * many newly dropped names, newest first, and the epoch of the sender's caches.
 *
 * <h2>Loss</h2>
 * Load records are single UDP datagrams and may be lost. Every name is sent in one record
 * ({@value #SENDS}), as its low {@value LoadRecord#NAME_BITS} bits (6 bytes: a false match
 * needs a 2<sup>-48</sup> coincidence): a reader misses it with the datagram, 1% of names at
 * 1% loss, 10% at 10%. A miss costs one cache-blind decision and heals by itself: a
 * conversation's next turn announces a new deepest block. At 3 held and 1.5 evicted names a
 * second and 199 region peers, cache news cost 86 kbit/s per node on top of the plain load
 * records (the membership simulator, {@code bench/membership-sim --load-channel-only}): 43
 * for the names, as much again for the epoch and counts of each record that carries any.
 * Sending each name twice measured 170 kbit/s, at 8 bytes a name. An
 * idle host sends no names at all, and a record with no cache news is byte for byte the
 * record nodes sent before prefix caching. The price is that a reader which starts (or a
 * peer which joins) after a name was sent never learns it: it learns the host's names as
 * they are used again. A rolling page of the whole held set would teach late readers
 * everything but costs bytes on every record of every host, idle or not. Pending names are
 * bounded ({@value #MAX_PENDING} of each kind): in a burst the newest are sent first and the
 * oldest beyond the bound are never sent (a miss costs only a recomputed prefix).
 *
 * <h2>Epochs</h2>
 * When a host's engines start afresh (restart, model reload) its cache is empty and its
 * epoch changes; a record with a new epoch makes every reader forget what it knew of the
 * host. The epoch rides on every record with names, and alone on the {@value #EPOCH_SENDS}
 * records after it changes (10 bytes each, once per change). When the host's last cache goes
 * (keep-alive unloaded its only model) it sends {@link LoadRecord#EMPTY_CACHE} as its epoch
 * the same way, and readers forget what it held.
 *
 * <h2>The index</h2>
 * Per host, the set of names it holds, at most {@value #MAX_NAMES_PER_NODE} (the oldest
 * forgotten first: about 100 conversations of 20 turns, two names a turn; the oldest are
 * the likeliest to have been evicted already). Memory is the price of a higher bound: the
 * boxed sets and index take about 165 bytes a name, so 200 peers at the bound hold about
 * 135 MB (measured at 8,192 names: 271 MB). An inverted index maps each name to the hosts holding it, so a
 * request's names h<sub>1</sub>..h<sub>n</sub> are looked up from h<sub>n</sub> down and
 * each host's depth is the first (deepest) k at which it appears: n hash lookups
 * whatever the number of hosts; names are looked up by their low
 * {@value LoadRecord#NAME_BITS} bits, as they were indexed. Hosts declared dead or left are
 * forgotten, and records from them are not applied while they stay in the member table. This node's own
 * announcements go into the same index (its cache belongs to its scheduler threads, so it
 * is known the way a peer's is).
 *
 * <p>Threads: the sending side ({@link #stamp}) and record intake ({@link #apply}) run on
 * the gossip loop; writes to the index take this object's lock (a few hundred a second),
 * and {@link #deepest} reads the concurrent index without a lock from request threads.
 * A node whose router gives the cache term no weight announces nothing (its load records
 * are the plain ones, which nodes from before prefix caching read too; those nodes refuse
 * a record with cache news, so a region turns the term on once all its nodes know it).
 * Region summaries over the WAN pool carry no names: routing across regions for cache is
 * not worth the bytes (a remote host is chosen only when the local region cannot serve).
 */
public final class PrefixCaches {

    /** Where this node's announcements come from: its engines' prefix caches. */
    public interface Source {
        /**
         * The epoch of this node's caches: changes whenever its engines start afresh, never
         * {@link LoadRecord#NO_CACHE} while any engine caches prefixes, {@code NO_CACHE} when
         * none does.
         */
        long epoch();

        /** Hands over the names announced since the last call. */
        void drain(LongConsumer held, LongConsumer dropped);

        /** A node without prefix caches. */
        Source NONE = new Source() {
            @Override
            public long epoch() {
                return LoadRecord.NO_CACHE;
            }

            @Override
            public void drain(LongConsumer held, LongConsumer dropped) {
            }
        };
    }

    /** Receives the hosts holding a prefix of a request, deepest first. */
    @FunctionalInterface
    public interface Holder {
        /**
         * {@code node} holds the request's first {@code blocks} blocks. Called once per name
         * it holds along the request's chain, the deepest first; only the first call per
         * node gives its depth.
         */
        void found(String node, int blocks);
    }

    /** The most names remembered per host. */
    public static final int MAX_NAMES_PER_NODE = 4096;
    /** Records each name is sent in. */
    static final int SENDS = 1;
    /** Records a changed epoch is sent in even when no name rides with it. */
    static final int EPOCH_SENDS = 3;
    /** Names of each kind waiting to be sent, at most. */
    static final int MAX_PENDING = 256;

    private final String self;
    private final Source source;

    // Sending side: gossip loop only.
    private long sentEpoch = LoadRecord.NO_CACHE;
    private int epochSendsLeft;
    private final LinkedHashMap<Long, Integer> heldPending = new LinkedHashMap<>(); // name -> sends left, oldest first
    private final LinkedHashMap<Long, Integer> droppedPending = new LinkedHashMap<>();

    // The index: written under this object's lock, read without one.
    private final Map<String, Holdings> nodes = new HashMap<>();
    private final ConcurrentHashMap<Long, String[]> holders = new ConcurrentHashMap<>();

    /** One host's names as known here. */
    private static final class Holdings {
        final long epoch;
        final LinkedHashSet<Long> names = new LinkedHashSet<>(); // oldest first

        Holdings(long epoch) {
            this.epoch = epoch;
        }
    }

    /**
     * @param self   this node's id: its own announcements are indexed under it
     * @param source this node's engines' announcements ({@link Source#NONE} for none)
     */
    public PrefixCaches(String self, Source source) {
        this.self = self;
        this.source = source;
    }

    /** Nothing announced, nothing known: a node whose routing has no cache term. */
    public static PrefixCaches none(String self) {
        return new PrefixCaches(self, Source.NONE);
    }

    // ---------------------------------------------------------------- sending

    /**
     * {@code record} with this node's cache news: drains the source, indexes what it says
     * under this node, and picks the names this record carries (newest first, each until it
     * has been in {@value #SENDS} records).
     */
    LoadRecord stamp(LoadRecord record) {
        long epoch = source.epoch();
        if (epoch == LoadRecord.NO_CACHE && sentEpoch != LoadRecord.NO_CACHE) {
            epoch = LoadRecord.EMPTY_CACHE; // the caches went: peers must forget them
        }
        if (epoch != sentEpoch) {
            sentEpoch = epoch;
            heldPending.clear();
            droppedPending.clear();
            epochSendsLeft = epoch == LoadRecord.NO_CACHE ? 0 : EPOCH_SENDS;
            forget(self);
        }
        if (epoch == LoadRecord.EMPTY_CACHE) {
            if (epochSendsLeft == 0) {
                sentEpoch = LoadRecord.NO_CACHE; // told: from now on, plain records
                return record;
            }
            epochSendsLeft--;
            return record.withCache(epoch, NO_NAMES, NO_NAMES);
        }
        if (epoch == LoadRecord.NO_CACHE) {
            return record;
        }
        long live = epoch;
        source.drain(raw -> {
            long name = LoadRecord.wireName(raw);
            droppedPending.remove(name);
            heldPending.remove(name);
            heldPending.put(name, SENDS);
            trim(heldPending);
            update(self, live, new long[] {name}, NO_NAMES);
        }, raw -> {
            long name = LoadRecord.wireName(raw);
            heldPending.remove(name);
            droppedPending.remove(name);
            droppedPending.put(name, SENDS);
            trim(droppedPending);
            update(self, live, NO_NAMES, new long[] {name});
        });
        if (heldPending.isEmpty() && droppedPending.isEmpty() && epochSendsLeft == 0) {
            return record;
        }
        epochSendsLeft = Math.max(0, epochSendsLeft - 1);
        return record.withCache(epoch, take(heldPending), take(droppedPending));
    }

    private static final long[] NO_NAMES = new long[0];

    private static void trim(LinkedHashMap<Long, Integer> pending) {
        while (pending.size() > MAX_PENDING) {
            pending.pollFirstEntry();
        }
    }

    /** Up to {@link LoadRecord#MAX_CACHE_NAMES} names, newest first, each counted as sent once more. */
    private static long[] take(LinkedHashMap<Long, Integer> pending) {
        if (pending.isEmpty()) {
            return NO_NAMES;
        }
        long[] out = new long[Math.min(pending.size(), LoadRecord.MAX_CACHE_NAMES)];
        int n = 0;
        SequencedMap<Long, Integer> newestFirst = pending.reversed();
        for (var it = newestFirst.entrySet().iterator(); it.hasNext() && n < out.length; ) {
            var e = it.next();
            out[n++] = e.getKey();
            if (e.getValue() <= 1) {
                it.remove();
            } else {
                e.setValue(e.getValue() - 1);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- receiving

    /**
     * A peer's record was accepted (newer than any before from it): learns its cache news.
     * The gossip loop calls it; this node's own records are ignored (its announcements come
     * from its {@link Source}).
     */
    public void apply(LoadRecord record) {
        if (!record.hasCache() || record.node().equals(self)) {
            return;
        }
        if (record.cacheEpoch() == LoadRecord.EMPTY_CACHE) {
            forget(record.node());
        } else {
            update(record.node(), record.cacheEpoch(), record.held(), record.dropped());
        }
    }

    /** {@code node} held {@code held} (newest first) and dropped {@code dropped} in {@code epoch}. */
    private synchronized void update(String node, long epoch, long[] held, long[] dropped) {
        Holdings h = nodes.get(node);
        if (h == null || h.epoch != epoch) {
            if (h != null) {
                unindex(node, h);
            }
            h = new Holdings(epoch);
            nodes.put(node, h);
        }
        for (long name : dropped) {
            if (h.names.remove(name)) {
                unindex(node, name);
            }
        }
        for (int i = held.length - 1; i >= 0; i--) {
            long name = held[i];
            if (h.names.remove(name)) {
                h.names.add(name); // now the newest
                continue;
            }
            h.names.add(name);
            holders.merge(name, new String[] {node}, PrefixCaches::with);
            if (h.names.size() > MAX_NAMES_PER_NODE) {
                long oldest = h.names.removeFirst();
                unindex(node, oldest);
            }
        }
    }

    /** Forgets everything known of {@code node} (it died, left, or restarted its engines). */
    synchronized void forget(String node) {
        Holdings h = nodes.remove(node);
        if (h != null) {
            unindex(node, h);
        }
    }

    private void unindex(String node, Holdings h) {
        for (long name : h.names) {
            unindex(node, name);
        }
    }

    private void unindex(String node, long name) {
        holders.computeIfPresent(name, (k, nodesHolding) -> without(nodesHolding, node));
    }

    private static String[] with(String[] holding, String[] one) {
        for (String n : holding) {
            if (n.equals(one[0])) {
                return holding;
            }
        }
        String[] out = Arrays.copyOf(holding, holding.length + 1);
        out[holding.length] = one[0];
        return out;
    }

    private static String[] without(String[] holding, String node) {
        for (int i = 0; i < holding.length; i++) {
            if (holding[i].equals(node)) {
                if (holding.length == 1) {
                    return null;
                }
                String[] out = new String[holding.length - 1];
                System.arraycopy(holding, 0, out, 0, i);
                System.arraycopy(holding, i + 1, out, i, out.length - i);
                return out;
            }
        }
        return holding;
    }

    // ---------------------------------------------------------------- reading

    /**
     * The hosts holding a prefix of the chain {@code names[0..count)}: walks from the
     * deepest name down and tells {@code found} of every host holding each (its first call
     * per host is its deepest match). Names are looked up by their low
     * {@value LoadRecord#NAME_BITS} bits, as peers send them. Lock-free; a concurrent update
     * may or may not be seen.
     */
    public void deepest(long[] names, int count, Holder found) {
        for (int k = count - 1; k >= 0; k--) {
            String[] holding = holders.get(LoadRecord.wireName(names[k]));
            if (holding != null) {
                for (String node : holding) {
                    found.found(node, k + 1);
                }
            }
        }
    }

    /** The names {@code node} is known to hold, oldest first (for tests and explanations). */
    public synchronized List<Long> names(String node) {
        Holdings h = nodes.get(node);
        return h == null ? List.of() : new ArrayList<>(h.names);
    }

    /** Whether {@code node} is known to hold {@code name}. */
    public boolean holds(String node, long name) {
        String[] holding = holders.get(LoadRecord.wireName(name));
        if (holding != null) {
            for (String n : holding) {
                if (n.equals(node)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Distinct names in the index. */
    public int indexedNames() {
        return holders.size();
    }
}
