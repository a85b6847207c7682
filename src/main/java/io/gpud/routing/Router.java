package io.gpud.routing;

import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.core.NodeState;
import io.gpud.membership.PrefixCaches;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.random.RandomGenerator;

/**
 * Decides, for one request, which host of the cluster serves it: this node or a peer.
 *
 * <h2>The decision</h2>
 * Every host the {@link CandidateSource} knows goes through three steps.
 * <ol>
 * <li><b>Filter.</b> A host is left out, with the reason recorded, when it does not serve
 * the model, is not READY (draining, drained, quarantined, starting), is suspected dead by
 * membership, or its circuit breaker is open. A host whose load record is missing or older
 * than {@code staleLoadAfter} stays in but counts as <em>saturated</em>: a silent host may
 * be overloaded or gone, and it should win only when nothing better exists. Hosts of other
 * regions get two seconds more: their load arrives in the WAN pool's once-a-second region
 * summaries ({@link MembershipCandidates}).
 * <li><b>Score.</b> {@code wLoad·load + wLatency·latency + wAffinity·affinity + wCache·cache},
 * each in [0,1], lower better. <em>load</em> is {@code outstanding / (outstanding + capacity)}: 0
 * idle, 0.5 with every slot busy, toward 1 as its queue grows (so saturated hosts still
 * rank among themselves). Outstanding is the queue and in-flight counts of the host's
 * newest load record plus the requests this node sent it after that record was taken, or
 * this node's unfinished forwards to it when they are more ({@link RecentSends}); from
 * {@code capacity} on the host is saturated; a stale host scores 1. <em>latency</em> is
 * the estimated RTT over {@code latencyCeiling}: from Vivaldi coordinates when the peer's
 * coordinate is known, else the smoothed probe RTT, else the ceiling. <em>affinity</em> is
 * 0 for hosts in the region the first matching affinity rule names for the request's
 * source, 1 for the others, and 0 for everyone when no rule matches. <em>cache</em> is
 * {@code 1 − matched / blocks}: of the request's {@code blocks} whole prompt blocks, the
 * host is known to hold the first {@code matched} ({@link PrefixCaches}, from the names
 * hosts announce on the load channel); 0 for every host when the request has no whole
 * block or {@code wCache} is 0, so that with the term off the score is exactly the
 * three-term one. The load term keeps a cached host from hot-spotting: a saturated host
 * is chosen only when no region has an unsaturated one, and a busy one loses to an idle
 * one once its load costs more than its cache saves.
 * <li><b>Choose.</b> Regions are ordered: the preferred one (the affinity region, else this
 * node's), then the others by their closest host's estimated RTT. The first region with an
 * unsaturated host wins; within it, two hosts are drawn at random from the best
 * {@code choices} and the better of the two is taken (power of two choices), so that many
 * nodes deciding on the same stale view do not all pick the same host. One exception: when
 * the best-scored host holds at least half of the request's prompt blocks more than every
 * other of the best {@code choices} (a conversation it holds), it is taken (a random draw
 * would throw away the one host that skips most of the prefill; the load term, not the draw,
 * keeps it from hot-spotting). A smaller lead (a system prompt shared by many requests) is
 * left to the draw: taking it outright would send every router's requests to that host for as
 * long as their load records are stale, and the draw still favours it, since it wins every
 * pair it is drawn into while its score is the best. Equal scores are
 * ranked in a random order drawn for each decision, never by list position. If every region is
 * saturated, the best saturated host anywhere is taken; if every host was filtered, the
 * best one filtered only for a soft reason (suspected, circuit open) is taken — routing
 * fails open rather than refusing work it might still get done. With nothing at all the
 * decision is {@link RouteDecision.NoCandidate} and the node answers as a lone node would.
 * </ol>
 * A decision that leaves the local region records the added latency (chosen host's RTT
 * minus the best local-region host's), and says so when that exceeds the configured
 * cross-region penalty.
 *
 * <h2>Cost</h2>
 * Scoring must stay far below a millisecond at 600 hosts (SPEC: p99 ≤ 50 µs), so the host
 * list is not walked as objects on each request. Each list the source publishes (a new one
 * at most every ~100 ms) is compiled once into a {@link CandidateTable}: parallel primitive
 * arrays with region numbers, filters that depend only on the list, a bit set of hosts per
 * model, outstanding counts, load-record instants, and each peer's send ring and circuit
 * breaker held by slot instead of looked up by name. Estimated RTTs are computed for every
 * slot when the Vivaldi coordinates change and reused until they change again. A decision
 * is then one pass over the arrays that filters, scores and keeps the best {@code choices}
 * hosts of each region by insertion into a tiny array, followed by a few steps over the
 * regions; the retry targets take one more pass. Its working arrays come from a small pool,
 * so a decision allocates only its result and the source's live description of this node
 * (and the explanation, with its strings and per-host lines, when asked for). The
 * fail-open tiers scan again, but only when no region had an unsaturated host. Nothing
 * takes a lock on the common path: tables are immutable once published, a closed breaker
 * and a peer with no send since its load record each answer with a volatile read.
 */
public final class Router {

    /** Why a host was left out. */
    enum Filter {
        NO_MODEL("model not loaded"),
        NOT_READY("state %s"),
        SUSPECT("suspected by membership"),
        CIRCUIT_OPEN("circuit open"),
        /** Slot 0 of a decision without this node; never shown. */
        ABSENT("not a candidate");

        /** Its code in a decision's filter array; 0 means not filtered. */
        final byte code;
        final String text;

        Filter(String text) {
            this.code = (byte) (ordinal() + 1);
            this.text = text;
        }

        static Filter of(byte code) {
            return code == 0 ? null : values()[code - 1];
        }
    }

    private static final byte NO_MODEL = Filter.NO_MODEL.code;
    private static final byte NOT_READY = Filter.NOT_READY.code;
    private static final byte SUSPECT = Filter.SUSPECT.code;
    private static final byte CIRCUIT_OPEN = Filter.CIRCUIT_OPEN.code;
    private static final byte ABSENT = Filter.ABSENT.code;

    /** Codes of the filters that fail-open may overrule (suspected, circuit open). */
    private static boolean soft(byte code) {
        return code == SUSPECT || code == CIRCUIT_OPEN;
    }

    private static final String READY = NodeState.READY.name();
    static final String LATEST = ":latest";

    /** The filter a host's state and suspicion call for: not READY, suspected, or 0 for none. */
    static byte stateFilter(Candidate c) {
        return !READY.equals(c.nodeState()) ? NOT_READY : !c.alive() ? SUSPECT : 0;
    }

    /** The affinity term of a host in region {@code r}: 0 in the rule's region or without a rule, else 1. */
    private static double affinity(int affinityRegion, int r) {
        return affinityRegion == -1 || affinityRegion == r ? 0.0 : 1.0;
    }

    private final RoutingConfig config;
    private final CandidateSource source;
    private final Vivaldi coordinates;
    private final AffinityRules affinity;
    private final CircuitBreakers breakers;
    private final RecentSends sends = new RecentSends();
    private final MonotonicClock clock;
    private final RandomGenerator random;
    private final RoutingMetrics metrics;
    private final double ceilingSeconds;
    private final double weightLoad;
    private final double weightLatency;
    private final double weightAffinity;
    private final double weightCache;
    private final PrefixCaches caches;
    /**
     * Extra age allowed to the load of hosts in other regions: it comes in the region
     * summaries, made once a second by a bridge and relayed by another.
     */
    private static final long REMOTE_SLACK_NANOS = Duration.ofSeconds(2).toNanos();

    private final long staleNanos;
    private volatile CandidateTable table;
    private final ScratchPool scratch = new ScratchPool();

    /**
     * @param coordinates this node's Vivaldi state, or null to estimate from probe RTTs only
     * @param metrics     where decision counts and latency go, or null for none
     */
    public Router(RoutingConfig config, CandidateSource source, Vivaldi coordinates, MonotonicClock clock,
                  RandomGenerator random, RoutingMetrics metrics) {
        this(config, source, coordinates, PrefixCaches.none(source.localNode()), clock, random, metrics);
    }

    /**
     * @param coordinates this node's Vivaldi state, or null to estimate from probe RTTs only
     * @param caches      what the hosts' prefix caches hold, for the cache term
     * @param metrics     where decision counts and latency go, or null for none
     */
    public Router(RoutingConfig config, CandidateSource source, Vivaldi coordinates, PrefixCaches caches,
                  MonotonicClock clock, RandomGenerator random, RoutingMetrics metrics) {
        this.config = config;
        this.caches = caches;
        this.source = source;
        this.coordinates = coordinates;
        this.affinity = AffinityRules.parse(config.affinity());
        this.breakers = new CircuitBreakers(config.breakerFailures(), config.breakerOpenFor().toNanos());
        this.clock = clock;
        this.random = random;
        this.metrics = metrics;
        this.ceilingSeconds = config.latencyCeiling().toNanos() / 1e9;
        this.staleNanos = config.staleLoadAfter().toNanos();
        this.weightLoad = config.weightLoad();
        this.weightLatency = config.weightLatency();
        this.weightAffinity = config.weightAffinity();
        this.weightCache = config.weightCache();
    }

    /** The configuration it routes by. */
    public RoutingConfig config() {
        return config;
    }

    /** Decides without an explanation: the request path. */
    public RouteDecision decide(String model, RequestSource requestSource) {
        return decide(model, requestSource, false);
    }

    /**
     * Decides where a request for {@code model} from {@code requestSource} runs.
     *
     * @param explain build the {@link RouteExplanation} too (costs strings per host)
     */
    public RouteDecision decide(String model, RequestSource requestSource, boolean explain) {
        return decide(model, requestSource, NO_NAMES, explain);
    }

    private static final long[] NO_NAMES = new long[0];

    /**
     * Decides where a request for {@code model} from {@code requestSource} runs, with the
     * names of its prompt's whole KV blocks for the cache term.
     *
     * @param prefixNames the request's block names ({@code inference.PrefixHashes}), empty
     *                    when unknown
     * @param explain     build the {@link RouteExplanation} too (costs strings per host)
     */
    public RouteDecision decide(String model, RequestSource requestSource, long[] prefixNames, boolean explain) {
        long start = clock.nanos();
        Candidate self = source.self();
        CandidateTable t = table(source.peers());
        double[] rtt = t.rttSeconds(coordinates);
        Scratch s = scratch.take(t.n + 1, t.regions(), config.choices(), config.maxAttempts());
        try {
            return decide(model, requestSource, prefixNames, explain, start, self, t, rtt, s);
        } finally {
            scratch.give(s);
        }
    }

    private RouteDecision decide(String model, RequestSource requestSource, long[] names, boolean explain,
                                 long start, Candidate self, CandidateTable t, double[] rtt, Scratch s) {
        AffinityRules.Rule rule = affinity.first(requestSource);
        // -1: no rule matched (affinity 0 for all); -2: a rule named a region no host is in (1 for all)
        int named = rule == null ? -1 : t.region(rule.region());
        int affinityRegion = rule == null ? -1 : named >= 0 ? named : -2;
        int regions = t.regions();
        for (int r = 0; r < regions; r++) {
            s.count[r] = 0;
            s.firstSeen[r] = -1;
        }
        int k = config.choices();
        s.tieSalt = random.nextLong();
        s.blocks = weightCache > 0 ? names.length : 0;
        if (s.blocks > 0) {
            matchPrefixes(t, self, names, s);
        }
        scoreSelf(self, model, affinityRegion, s, k);
        long[] served = t.servedBy(model);
        for (int i = 1; i <= t.n; i++) {
            byte f = !CandidateTable.contains(served, i) ? NO_MODEL : t.baseFilter[i];
            if (f == 0 && t.breakers[i].state(start) == CircuitBreakers.State.OPEN) {
                f = CIRCUIT_OPEN;
            }
            s.filter[i] = f;
            if (f == NO_MODEL || f == NOT_READY) {
                continue; // a hard filter: never chosen, scored only for an explanation
            }
            long outstanding = outstanding(t, i, start);
            double load;
            boolean saturated;
            if (outstanding < 0) {
                load = 1.0;
                saturated = true;
            } else {
                load = (double) outstanding / (outstanding + t.capacity[i]);
                saturated = outstanding >= t.capacity[i];
            }
            int r = t.region[i];
            double score = weightLoad * load + weightLatency * Math.min(1.0, rtt[i] / ceilingSeconds)
                    + weightAffinity * affinity(affinityRegion, r);
            if (s.blocks > 0) {
                score += weightCache * cache(s, i);
            }
            s.load[i] = load;
            s.saturated[i] = saturated;
            s.score[i] = score;
            if (f == 0) {
                track(s, i, r, rtt[i], saturated, score, k);
            }
        }
        int preferred = affinityRegion >= 0 ? affinityRegion : 0;
        int chosenRegion = -1;
        int chosen = -1;
        if (s.count[preferred] > 0) {
            chosenRegion = preferred;
        } else {
            // The next region by its closest usable host (first seen wins a tie).
            for (int r = 0; r < regions; r++) {
                if (r != preferred && s.count[r] > 0 && (chosenRegion < 0 || s.closest[r] < s.closest[chosenRegion]
                        || s.closest[r] == s.closest[chosenRegion] && s.firstSeen[r] < s.firstSeen[chosenRegion])) {
                    chosenRegion = r;
                }
            }
        }
        int tier;
        if (chosenRegion >= 0) {
            chosen = s.blocks > 0 ? cachedBest(s, chosenRegion * k, s.count[chosenRegion]) : -1;
            if (chosen < 0) {
                chosen = twoChoices(s.best, chosenRegion * k, s.count[chosenRegion], s.score);
            }
            tier = chosenRegion == preferred ? TIER_PREFERRED : TIER_FAILOVER;
        } else {
            chosen = pickAny(t, s, false, k);
            tier = TIER_ALL_SATURATED;
            if (chosen < 0) {
                chosen = pickAny(t, s, true, k);
                tier = TIER_ALL_FILTERED;
            }
        }
        if (chosen < 0) {
            int known = t.n + (self == null ? 0 : 1);
            String reason = known == 0 ? "no host is known" : "no host serves '" + model + "' and is READY";
            long took = clock.nanos() - start;
            RouteExplanation why = explain ? explanation(model, requestSource, rule, preferred, self, t, rtt, s,
                    affinityRegion, -1, -1, 0, reason, start, took) : null;
            record("no_candidate", took);
            return new RouteDecision.NoCandidate(reason, why);
        }
        int region = chosen == 0 ? 0 : t.region[chosen];
        double added = region == 0 ? 0 : Math.max(0, rtt[chosen] - bestLocalRtt(t, rtt, self)) * 1e3;
        long took = clock.nanos() - start;
        RouteExplanation why = explain ? explanation(model, requestSource, rule, preferred, self, t, rtt, s,
                affinityRegion, chosen, tier, added, null, start, took) : null;
        if (chosen == 0) {
            record("local", took);
            return new RouteDecision.Local(why);
        }
        record(region == 0 ? "forward" : "forward_cross_region", took);
        return new RouteDecision.Forward(targets(t, rtt, s, chosen), added, why);
    }

    private static final int TIER_PREFERRED = 0;
    private static final int TIER_FAILOVER = 1;
    private static final int TIER_ALL_SATURATED = 2;
    private static final int TIER_ALL_FILTERED = 3;

    /**
     * Fills {@code s.matched}: for each slot, the request's leading blocks its host is known
     * to hold (0 for none). One hash lookup per block name, deepest first, whatever the
     * number of hosts.
     */
    private void matchPrefixes(CandidateTable t, Candidate self, long[] names, Scratch s) {
        int[] matched = s.matched;
        Arrays.fill(matched, 0, t.n + 1, 0);
        String selfNode = self == null ? null : self.node();
        caches.deepest(names, names.length, (node, blocks) -> {
            int slot = node.equals(selfNode) ? 0 : t.slot(node);
            if (slot >= 0 && matched[slot] == 0) {
                matched[slot] = blocks;
            }
        });
    }

    /** The cache term of slot {@code i}: the share of the request's blocks it would compute. */
    private static double cache(Scratch s, int i) {
        return 1.0 - (double) s.matched[i] / s.blocks;
    }

    /**
     * The best-scored of {@code best[base..base+found)} when it holds at least half of the
     * request's blocks more than each of the others there, else -1 (then the power of two
     * choices decides).
     */
    private static int cachedBest(Scratch s, int base, int found) {
        int first = s.best[base];
        if (found < 2 || s.matched[first] == 0) {
            return -1;
        }
        int runnerUp = 0;
        for (int j = 1; j < found; j++) {
            runnerUp = Math.max(runnerUp, s.matched[s.best[base + j]]);
        }
        return 2 * (s.matched[first] - runnerUp) >= s.blocks ? first : -1;
    }

    /** The compiled table of {@code peers}, compiled now if the source published a new list. */
    private CandidateTable table(List<Candidate> peers) {
        CandidateTable t = table;
        if (t == null || t.peers != peers) {
            t = new CandidateTable(peers, source.localRegion(), staleNanos, REMOTE_SLACK_NANOS, ceilingSeconds,
                    sends, breakers);
            table = t;
        }
        return t;
    }

    /** Fills slot 0: this node, live, never stale, 0 RTT; or marks it absent. */
    private void scoreSelf(Candidate self, String model, int affinityRegion, Scratch s, int k) {
        if (self == null) {
            s.filter[0] = ABSENT;
            return;
        }
        byte f = !serves(self.models(), model) ? NO_MODEL : stateFilter(self);
        long outstanding = (long) self.queueDepth() + self.inFlight();
        double load = (double) outstanding / (outstanding + self.capacity());
        boolean saturated = outstanding >= self.capacity();
        double score = weightLoad * load + weightAffinity * affinity(affinityRegion, 0);
        if (s.blocks > 0) {
            score += weightCache * cache(s, 0);
        }
        s.filter[0] = f;
        s.load[0] = load;
        s.saturated[0] = saturated;
        s.score[0] = score;
        if (f == 0) {
            track(s, 0, 0, 0.0, saturated, score, k);
        }
    }

    private static boolean serves(Set<String> models, String model) {
        return models.contains(model) || model.endsWith(LATEST)
                && models.contains(model.substring(0, model.length() - LATEST.length()));
    }

    /**
     * Outstanding requests on peer slot {@code i} at {@code now}: its load record's queue and
     * in-flight counts plus what this node sent it after the record was taken, at least this
     * node's unfinished forwards to it; -1 when the record is missing or stale (the host
     * counts as saturated, load 1).
     */
    private static long outstanding(CandidateTable t, int i, long now) {
        long at = t.loadAt[i];
        if (at == Candidate.NO_LOAD || now - at > t.staleAfter[i]) {
            return -1;
        }
        RecentSends.Ring sent = t.sends[i];
        return Math.max(t.outstanding[i] + sent.countAfter(at), sent.unfinished());
    }

    /**
     * An unfiltered host: counts toward its region's closest RTT and, when unsaturated, is
     * inserted into the region's best-{@code k} list, kept in score order (a random order
     * among equal scores, drawn for each decision).
     */
    private static void track(Scratch s, int i, int r, double rtt, boolean saturated, double score, int k) {
        if (s.firstSeen[r] < 0) {
            s.firstSeen[r] = i;
            s.closest[r] = rtt;
        } else if (rtt < s.closest[r]) {
            s.closest[r] = rtt;
        }
        if (!saturated) {
            s.count[r] = insert(s.best, r * k, s.count[r], k, s.score, i, score, s.tieSalt);
        }
    }

    /**
     * Inserts slot {@code i} into {@code best[base..base+k)}, which holds {@code found} slots
     * in order of score; returns the new count. Equal scores are ordered by {@link #tieKey},
     * a random order drawn for each decision: with slot order instead, the first of many
     * equal hosts (idle, or all at the same RTT) would always make the best {@code k} and
     * take more than its share.
     */
    private static int insert(int[] best, int base, int found, int k, double[] scores, int i, double score, long salt) {
        int at = found;
        while (at > 0 && after(scores[best[base + at - 1]], best[base + at - 1], score, i, salt)) {
            at--;
        }
        if (at < k) {
            System.arraycopy(best, base + at, best, base + at + 1, Math.min(found, k - 1) - at);
            best[base + at] = i;
            return Math.min(k, found + 1);
        }
        return found;
    }

    /** Whether slot {@code a} with {@code scoreA} sorts after slot {@code b} with {@code scoreB}. */
    private static boolean after(double scoreA, int a, double scoreB, int b, long salt) {
        return scoreA > scoreB || scoreA == scoreB && tieKey(salt, a) > tieKey(salt, b);
    }

    /** The place of {@code slot} among equal scores in the decision drawn as {@code salt} (a SplitMix64 step). */
    static long tieKey(long salt, int slot) {
        long z = salt + slot * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Power of two choices among {@code best[base..base+found)}, the better by {@code scores}. */
    private int twoChoices(int[] best, int base, int found, double[] scores) {
        if (found == 1) {
            return best[base];
        }
        int a = random.nextInt(found);
        int b = random.nextInt(found - 1);
        if (b >= a) {
            b++;
        }
        int x = best[base + a];
        int y = best[base + b];
        return scores[y] < scores[x] ? y : x;
    }

    /**
     * Fail-open: power of two choices among the best {@code k} hosts of any region,
     * saturated or not, unfiltered or (with {@code softFilteredToo}) filtered only for a soft
     * reason. Returns the slot, or -1.
     */
    private int pickAny(CandidateTable t, Scratch s, boolean softFilteredToo, int k) {
        int found = 0;
        for (int i = 0; i <= t.n; i++) {
            byte f = s.filter[i];
            if (f != 0 && !(softFilteredToo && soft(f))) {
                continue;
            }
            found = insert(s.anyBest, 0, found, k, s.score, i, s.score[i], s.tieSalt);
        }
        return found == 0 ? -1 : twoChoices(s.anyBest, 0, found, s.score);
    }

    /** The smallest estimated RTT to a host of this node's region (this node itself: 0). */
    private static double bestLocalRtt(CandidateTable t, double[] rtt, Candidate self) {
        if (self != null) {
            return 0;
        }
        double best = Double.MAX_VALUE;
        for (int i = 1; i <= t.n; i++) {
            if (t.region[i] == 0) {
                best = Math.min(best, rtt[i]);
            }
        }
        return best == Double.MAX_VALUE ? 0 : best;
    }

    /**
     * The chosen host, then up to {@code maxAttempts - 1} alternates: unfiltered peers, those
     * of the chosen region first, then unsaturated before saturated, then by score; kept by
     * insertion in one pass, not by sorting every host.
     */
    private List<RouteDecision.Target> targets(CandidateTable t, double[] rtt, Scratch s, int chosen) {
        int m = config.maxAttempts() - 1;
        int region = t.region[chosen];
        int found = 0;
        for (int i = 1; i <= t.n && m > 0; i++) {
            if (s.filter[i] != 0 || i == chosen) {
                continue;
            }
            // Region mismatch dominates saturation, which dominates the score (< 1.1).
            double key = (t.region[i] == region ? 0 : 4) + (s.saturated[i] ? 2 : 0) + s.score[i];
            s.altKey[i] = key;
            found = insert(s.alternates, 0, found, m, s.altKey, i, key, s.tieSalt);
        }
        var out = new ArrayList<RouteDecision.Target>(found + 1);
        out.add(target(t, chosen, rtt));
        for (int j = 0; j < found; j++) {
            out.add(target(t, s.alternates[j], rtt));
        }
        return out;
    }

    private static RouteDecision.Target target(CandidateTable t, int i, double[] rtt) {
        Candidate c = t.hosts[i];
        return new RouteDecision.Target(c.node(), c.region(), c.host(), c.port(), rtt[i] * 1e3);
    }

    /**
     * This node sent a request to {@code node} now: counted into its load until its next
     * record shows it, and at least until {@link #finished} is called for it.
     */
    public void sent(String node) {
        sends.record(node, clock.nanos());
    }

    /** A request {@link #sent} to {@code node} ended: answered in full, refused, or failed. */
    public void finished(String node) {
        sends.finished(node);
    }

    /** May a request go to {@code node} now (its circuit closed, or this is the half-open probe)? */
    public boolean tryAcquire(String node) {
        return breakers.tryAcquire(node, clock.nanos());
    }

    /** A request to {@code node} got an answer. */
    public void succeeded(String node) {
        breakers.success(node);
    }

    /** A request to {@code node} failed (no connection, 5xx); returns true when its circuit opened. */
    public boolean failed(String node) {
        return breakers.failure(node, clock.nanos());
    }

    private void record(String outcome, long nanos) {
        if (metrics != null) {
            metrics.decisions.inc(outcome);
            metrics.decisionSeconds.observe(nanos / 1e9);
        }
    }

    private RouteExplanation explanation(String model, RequestSource requestSource, AffinityRules.Rule rule,
                                         int preferred, Candidate self, CandidateTable t, double[] rtt, Scratch s,
                                         int affinityRegion, int chosen, int tier, double added, String reason,
                                         long start, long nanos) {
        var lines = new ArrayList<RouteExplanation.Line>(t.n + 1);
        for (int i = 0; i <= t.n; i++) {
            byte code = s.filter[i];
            if (code == ABSENT) {
                continue;
            }
            Candidate c = i == 0 ? self : t.hosts[i];
            if (i > 0 && (code == NO_MODEL || code == NOT_READY)) {
                // Hard-filtered hosts were skipped by the scoring pass: their saturation for the record.
                long outstanding = outstanding(t, i, start);
                s.saturated[i] = outstanding < 0 || outstanding >= t.capacity[i];
            }
            Filter f = Filter.of(code);
            String why = f == null ? null : f == Filter.NOT_READY ? String.format(f.text, c.nodeState()) : f.text;
            boolean scored = f == null || i == chosen;
            double latency = Math.min(1.0, rtt[i] / ceilingSeconds);
            int r = i == 0 ? 0 : t.region[i];
            double aff = affinity(affinityRegion, r);
            int cached = s.blocks > 0 ? s.matched[i] : 0;
            double cacheTerm = s.blocks > 0 ? cache(s, i) : 0.0;
            lines.add(new RouteExplanation.Line(c.node(), c.region(), c.nodeState(),
                    scored ? s.load[i] : null, scored ? latency : null, scored ? aff : null,
                    scored ? cacheTerm : null, cached, scored ? s.score[i] : null, rtt[i] * 1e3, s.saturated[i], why,
                    i == chosen));
        }
        lines.sort(Comparator.comparing((RouteExplanation.Line l) -> l.score() == null ? 1 : 0)
                .thenComparing(l -> l.score() == null ? 0.0 : l.score()));
        Candidate c = chosen < 0 ? null : chosen == 0 ? self : t.hosts[chosen];
        String outcome = c == null ? "no_candidate" : chosen == 0 ? "local" : "forward";
        String tierText = null;
        String note = reason;
        if (c != null) {
            tierText = switch (tier) {
                case TIER_PREFERRED -> "preferred region";
                case TIER_FAILOVER -> "failover to " + c.region();
                case TIER_ALL_SATURATED -> "fail-open: all saturated";
                default -> "fail-open: all filtered";
            };
            int region = chosen == 0 ? 0 : t.region[chosen];
            if (region != 0) {
                long penaltyMs = config.crossRegionPenalty().toMillis();
                note = String.format(Locale.ROOT, "left region %s for %s: adds ~%.1f ms%s", source.localRegion(),
                        c.region(), added, added > penaltyMs ? ", MORE than the " + penaltyMs
                                + " ms cross-region penalty" : "");
            }
            if (tier >= TIER_ALL_SATURATED) {
                note = note == null ? tierText : note + "; " + tierText;
            }
        }
        return new RouteExplanation(model, requestSource.toString(), rule == null ? null : rule.text(),
                t.regionNames[preferred], c == null ? null : c.region(), outcome, c == null ? null : c.node(),
                tierText, added, note, nanos / 1e3, s.blocks, lines);
    }

    /** Working arrays of one decision, sized for the largest table seen. */
    private static final class Scratch {
        double[] score = new double[0];     // (slots) weighted score
        double[] load = new double[0];      // (slots) load sub-score
        double[] altKey = new double[0];    // (slots) retry-target ordering key
        byte[] filter = new byte[0];        // (slots) Filter code, 0 when not filtered
        boolean[] saturated = new boolean[0]; // (slots)
        int[] best = new int[0];            // (regions × choices) best unsaturated slots per region
        int[] count = new int[0];           // (regions) entries used in best
        double[] closest = new double[0];   // (regions) smallest RTT of an unfiltered host
        int[] firstSeen = new int[0];       // (regions) first unfiltered slot, -1 for none
        int[] anyBest = new int[0];         // (choices) fail-open candidates
        int[] alternates = new int[0];      // (maxAttempts) retry targets
        int[] matched = new int[0];         // (slots) request blocks the host holds; valid when blocks > 0
        int blocks;                         // the request's whole blocks, 0 when the cache term is off
        long tieSalt;                       // this decision's random order among equal scores

        void fit(int slots, int regions, int choices, int attempts) {
            if (score.length < slots) {
                score = new double[slots];
                load = new double[slots];
                altKey = new double[slots];
                filter = new byte[slots];
                saturated = new boolean[slots];
                matched = new int[slots];
            }
            if (count.length < regions || best.length < regions * choices) {
                best = new int[regions * choices];
                count = new int[regions];
                closest = new double[regions];
                firstSeen = new int[regions];
            }
            if (anyBest.length < choices) {
                anyBest = new int[choices];
            }
            if (alternates.length < attempts) {
                alternates = new int[attempts];
            }
        }
    }

    /**
     * A few {@link Scratch} sets shared by concurrent decisions: a decision takes one from a
     * slot picked by its thread, or makes one when all it looks at are taken, and puts it
     * back. Request threads are virtual (one per request), so thread-locals would not be
     * reused.
     */
    private static final class ScratchPool {
        private static final int SLOTS = 16;
        private static final int PROBES = 4;
        private final AtomicReferenceArray<Scratch> free = new AtomicReferenceArray<>(SLOTS);

        Scratch take(int slots, int regions, int choices, int attempts) {
            int at = (int) Thread.currentThread().threadId();
            Scratch s = null;
            for (int p = 0; p < PROBES && s == null; p++) {
                s = free.getAndSet((at + p) & (SLOTS - 1), null);
            }
            if (s == null) {
                s = new Scratch();
            }
            s.fit(slots, regions, choices, attempts);
            return s;
        }

        void give(Scratch s) {
            int at = (int) Thread.currentThread().threadId();
            for (int p = 0; p < PROBES; p++) {
                if (free.compareAndSet((at + p) & (SLOTS - 1), null, s)) {
                    return;
                }
            }
        }
    }
}
