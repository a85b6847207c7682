package io.gpud.routing;

import io.gpud.membership.NetworkCoordinate;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One host list compiled for scoring: what the router needs of each peer, in parallel
 * primitive arrays indexed by slot, so that a decision is one pass over arrays with no
 * lookup by name and no allocation per host. Built once per list the
 * {@link CandidateSource} publishes (at most every ~100 ms from gossip), never per request.
 *
 * <p>Slot 0 belongs to this node, whose state and load are live and come with each request;
 * peers take slots 1..n in the order of the list. Everything that depends only on the list
 * is settled here: region numbers, the state and suspicion filters, which hosts serve each
 * model (a bit set per model name, {@code NAME:latest} included), outstanding counts, when
 * each load record was taken and how long it stays fresh, and each peer's
 * {@link RecentSends.Ring} and {@link CircuitBreakers.Breaker}. Estimated RTTs depend on
 * the Vivaldi coordinates as well; they are computed for every slot when the coordinates'
 * version changes and reused until it changes again.
 */
final class CandidateTable {

    /** The source's list this table was compiled from; a new instance means a new table. */
    final List<Candidate> peers;
    /** Peers; slots run 0 (this node) to n. */
    final int n;
    final Candidate[] hosts;            // (n+1) the peer in each slot; slot 0 null
    final String[] regionNames;         // (regions) index 0 is this node's region
    private final Map<String, Integer> regionIndex;
    final int[] region;                 // (n+1) region number per slot
    final byte[] baseFilter;            // (n+1) Router.Filter code for state and suspicion, 0 when none
    final int[] capacity;               // (n+1) concurrent sequences offered
    final long[] outstanding;           // (n+1) queue + in flight from the newest load record
    final long[] loadAt;                // (n+1) when the load record was taken, nanos on the router's clock;
                                        //       Candidate.NO_LOAD when none has arrived
    final long[] staleAfter;            // (n+1) nanos after loadAt it counts as saturated
    final double[] fallbackRtt;         // (n+1) seconds: smoothed probe RTT, else the ceiling
    final RecentSends.Ring[] sends;     // (n+1) this node's recent sends to each peer
    final CircuitBreakers.Breaker[] breakers; // (n+1) each peer's breaker
    private final Map<String, long[]> servedBy; // model name -> bit set over slots
    private final Map<String, Integer> slotOf;  // node id -> slot, peers only
    private volatile Estimates estimates;

    /** RTT estimates for every slot, from coordinates of version {@code version}. */
    private record Estimates(long version, double[] seconds) {
    }

    /** Compiles {@code peers}; this also forgets the sends and breakers of peers no longer listed. */
    CandidateTable(List<Candidate> peers, String localRegion, long staleNanos, long remoteSlackNanos,
                           double ceilingSeconds, RecentSends recentSends, CircuitBreakers circuitBreakers) {
        this.peers = peers;
        n = peers.size();
        int slots = n + 1;
        hosts = new Candidate[slots];
        region = new int[slots];
        baseFilter = new byte[slots];
        capacity = new int[slots];
        outstanding = new long[slots];
        loadAt = new long[slots];
        staleAfter = new long[slots];
        fallbackRtt = new double[slots];
        sends = new RecentSends.Ring[slots];
        breakers = new CircuitBreakers.Breaker[slots];
        regionIndex = new HashMap<>();
        regionIndex.put(localRegion, 0);
        servedBy = new HashMap<>();
        slotOf = HashMap.newHashMap(n);
        Map<String, long[]> latestOf = new HashMap<>(); // model -> the set of "model:latest"
        int words = (slots + 63) >>> 6;
        for (int i = 1; i <= n; i++) {
            Candidate c = peers.get(i - 1);
            hosts[i] = c;
            slotOf.put(c.node(), i);
            Integer r = regionIndex.putIfAbsent(c.region(), regionIndex.size());
            region[i] = r == null ? regionIndex.size() - 1 : r;
            baseFilter[i] = Router.stateFilter(c);
            capacity[i] = c.capacity();
            outstanding[i] = (long) c.queueDepth() + c.inFlight();
            loadAt[i] = c.loadAtNanos();
            staleAfter[i] = region[i] == 0 ? staleNanos : staleNanos + remoteSlackNanos;
            fallbackRtt[i] = c.probeRtt() != null ? c.probeRtt().toNanos() / 1e9 : ceilingSeconds;
            sends[i] = recentSends.ring(c.node());
            breakers[i] = circuitBreakers.breaker(c.node());
            for (String model : c.models()) {
                long[] bits = servedBy.get(model);
                if (bits == null) {
                    bits = new long[words];
                    servedBy.put(model, bits);
                }
                long[] latest = latestOf.get(model);
                if (latest == null) {
                    latest = servedBy.computeIfAbsent(model + Router.LATEST, l -> new long[words]);
                    latestOf.put(model, latest);
                }
                bits[i >>> 6] |= 1L << i;
                latest[i >>> 6] |= 1L << i;
            }
        }
        regionNames = new String[regionIndex.size()];
        regionIndex.forEach((name, r) -> regionNames[r] = name);
        // Every listed peer has a ring and a breaker now; more of them means some peer left.
        if (recentSends.size() > n || circuitBreakers.size() > n) {
            Set<String> names = new HashSet<>(slots * 2);
            for (int i = 1; i <= n; i++) {
                names.add(hosts[i].node());
            }
            recentSends.retainOnly(names);
            circuitBreakers.retainOnly(names);
        }
    }

    /** The slots that serve {@code model} (as {@code NAME:latest} also those serving NAME), or null for none. */
    long[] servedBy(String model) {
        return servedBy.get(model);
    }

    /** The slot of peer {@code node}, or -1 when it is not listed. */
    int slot(String node) {
        Integer i = slotOf.get(node);
        return i == null ? -1 : i;
    }

    static boolean contains(long[] bits, int slot) {
        return bits != null && (bits[slot >>> 6] & 1L << slot) != 0;
    }

    /** The number of {@code name}, or -1 when no listed host (nor this node) is in that region. */
    int region(String name) {
        Integer r = regionIndex.get(name);
        return r == null ? -1 : r;
    }

    int regions() {
        return regionNames.length;
    }

    /**
     * Estimated RTT in seconds to every slot (slot 0, this node: 0): from Vivaldi
     * coordinates where the peer's is known, else the smoothed probe RTT, else the ceiling.
     * Recomputed only when the coordinates changed since the last call.
     */
    double[] rttSeconds(Vivaldi coordinates) {
        if (coordinates == null) {
            return fallbackRtt;
        }
        long version = coordinates.version();
        Estimates e = estimates;
        if (e != null && e.version() == version) {
            return e.seconds();
        }
        double[] seconds = new double[n + 1];
        NetworkCoordinate self = coordinates.local();
        for (int i = 1; i <= n; i++) {
            NetworkCoordinate peer = coordinates.peer(hosts[i].node());
            seconds[i] = peer != null ? Vivaldi.estimate(self, peer) : fallbackRtt[i];
        }
        estimates = new Estimates(version, seconds);
        return seconds;
    }
}
