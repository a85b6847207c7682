package io.gpud.routing;

import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.core.NodeState;
import io.gpud.membership.NetworkCoordinate;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
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
 * <li><b>Score.</b> {@code wLoad·load + wLatency·latency + wAffinity·affinity}, each in
 * [0,1], lower better. <em>load</em> is {@code outstanding / (outstanding + capacity)}: 0
 * idle, 0.5 with every slot busy, toward 1 as its queue grows (so saturated hosts still
 * rank among themselves). Outstanding is the queue and in-flight counts of the host's
 * newest load record plus the requests this node sent it after that record was taken
 * ({@link RecentSends}); from {@code capacity} on the host is saturated; a stale host
 * scores 1. <em>latency</em> is the estimated RTT over {@code latencyCeiling}: from
 * Vivaldi coordinates when the peer's coordinate is known, else the smoothed probe RTT,
 * else the ceiling. <em>affinity</em> is 0 for hosts in the region the first matching
 * affinity rule names for the request's source, 1 for the others, and 0 for everyone when
 * no rule matches.
 * <li><b>Choose.</b> Regions are ordered: the preferred one (the affinity region, else this
 * node's), then the others by their closest host's estimated RTT. The first region with an
 * unsaturated host wins; within it, two hosts are drawn at random from the best
 * {@code choices} and the better of the two is taken (power of two choices), so that many
 * nodes deciding on the same stale view do not all pick the same host. If every region is
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
 * The hot path is a loop over parallel primitive arrays with no allocation per candidate
 * besides the candidate list the source hands over; the best {@code choices} are kept by
 * insertion into a tiny array rather than by sorting. The explanation, with its strings and
 * per-host lines, is built only when asked for. The router holds no lock: sources publish
 * immutable snapshots, and the send and breaker tables are concurrent.
 */
public final class Router {

    /** Why a host was left out. */
    enum Filter {
        NO_MODEL("model not loaded", true),
        NOT_READY("state %s", true),
        SUSPECT("suspected by membership", false),
        CIRCUIT_OPEN("circuit open", false);

        final String text;
        final boolean hard;

        Filter(String text, boolean hard) {
            this.text = text;
            this.hard = hard;
        }
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
    /**
     * Extra age allowed to the load of hosts in other regions: it comes in the region
     * summaries, made once a second by a bridge and relayed by another.
     */
    private static final long REMOTE_SLACK_NANOS = Duration.ofSeconds(2).toNanos();

    private final long staleNanos;

    /**
     * @param coordinates this node's Vivaldi state, or null to estimate from probe RTTs only
     * @param metrics     where decision counts and latency go, or null for none
     */
    public Router(RoutingConfig config, CandidateSource source, Vivaldi coordinates, MonotonicClock clock,
                  RandomGenerator random, RoutingMetrics metrics) {
        this.config = config;
        this.source = source;
        this.coordinates = coordinates;
        this.affinity = AffinityRules.parse(config.affinity());
        this.breakers = new CircuitBreakers(config.breakerFailures(), config.breakerOpenFor().toNanos());
        this.clock = clock;
        this.random = random;
        this.metrics = metrics;
        this.ceilingSeconds = config.latencyCeiling().toNanos() / 1e9;
        this.staleNanos = config.staleLoadAfter().toNanos();
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
        long start = clock.nanos();
        List<Candidate> all = source.candidates();
        int n = all.size();
        var s = new Scores(n);
        Optional<AffinityRules.Match> match = affinity.match(requestSource);
        String affinityRegion = match.map(AffinityRules.Match::region).orElse(null);
        NetworkCoordinate self = coordinates == null ? null : coordinates.local();
        for (int i = 0; i < n; i++) {
            Candidate c = all.get(i);
            s.rtt[i] = rttSeconds(c, self);
            Filter f = filter(c, model, start);
            s.filter[i] = f;
            long outstanding = (long) c.queueDepth() + c.inFlight();
            long staleAfter = c.region().equals(source.localRegion()) ? staleNanos : staleNanos + REMOTE_SLACK_NANOS;
            boolean stale = !c.self() && (c.loadAge() == null || c.loadAge().toNanos() > staleAfter);
            if (!c.self()) {
                long since = c.loadAge() == null ? start - staleNanos : start - c.loadAge().toNanos();
                outstanding += sends.sentAfter(c.node(), since);
            }
            double load = stale ? 1.0 : (double) outstanding / (outstanding + c.capacity());
            s.saturated[i] = stale || outstanding >= c.capacity();
            s.load[i] = load;
            s.latency[i] = Math.min(1.0, s.rtt[i] / ceilingSeconds);
            s.affinity[i] = affinityRegion == null || affinityRegion.equals(c.region()) ? 0.0 : 1.0;
            s.score[i] = config.weightLoad() * load + config.weightLatency() * s.latency[i]
                    + config.weightAffinity() * s.affinity[i];
        }
        String preferred = affinityRegion != null && hasRegion(all, affinityRegion) ? affinityRegion
                : source.localRegion();
        int chosen = -1;
        String tier = null;
        for (String region : regionOrder(all, s, preferred)) {
            chosen = pick(all, s, region, false, false);
            if (chosen >= 0) {
                tier = region.equals(preferred) ? "preferred region" : "failover to " + region;
                break;
            }
        }
        String note = null;
        if (chosen < 0) {
            chosen = pick(all, s, null, true, false);
            tier = "fail-open: all saturated";
        }
        if (chosen < 0) {
            chosen = pick(all, s, null, true, true);
            tier = "fail-open: all filtered";
        }
        RouteDecision decision;
        double added = 0;
        if (chosen < 0) {
            String reason = n == 0 ? "no host is known" : "no host serves '" + model + "' and is READY";
            long took = clock.nanos() - start;
            decision = new RouteDecision.NoCandidate(reason,
                    explain ? explanation(model, requestSource, match, preferred, all, s, -1, null, 0, reason, took) : null);
            record("no_candidate", took);
            return decision;
        }
        Candidate c = all.get(chosen);
        if (!c.region().equals(source.localRegion())) {
            added = Math.max(0, s.rtt[chosen] - bestLocalRtt(all, s)) * 1e3;
            long penaltyMs = config.crossRegionPenalty().toMillis();
            note = String.format(java.util.Locale.ROOT, "left region %s for %s: adds ~%.1f ms%s",
                    source.localRegion(), c.region(), added,
                    added > penaltyMs ? ", MORE than the " + penaltyMs + " ms cross-region penalty" : "");
        }
        if (tier.startsWith("fail-open")) {
            note = note == null ? tier : note + "; " + tier;
        }
        long took = clock.nanos() - start;
        RouteExplanation why = explain
                ? explanation(model, requestSource, match, preferred, all, s, chosen, tier, added, note, took) : null;
        if (c.self()) {
            decision = new RouteDecision.Local(why);
            record("local", took);
        } else {
            decision = new RouteDecision.Forward(targets(all, s, chosen), added, why);
            record(c.region().equals(source.localRegion()) ? "forward" : "forward_cross_region", took);
        }
        return decision;
    }

    /** This node sent a request to {@code node} now (counted into its load until its next record shows it). */
    public void sent(String node) {
        sends.record(node, clock.nanos());
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

    private Filter filter(Candidate c, String model, long now) {
        if (!c.models().contains(model) && !(model.endsWith(":latest")
                && c.models().contains(model.substring(0, model.length() - ":latest".length())))) {
            return Filter.NO_MODEL;
        }
        if (!NodeState.READY.name().equals(c.nodeState())) {
            return Filter.NOT_READY;
        }
        if (!c.alive()) {
            return Filter.SUSPECT;
        }
        if (!c.self() && breakers.state(c.node(), now) == CircuitBreakers.State.OPEN) {
            return Filter.CIRCUIT_OPEN;
        }
        return null;
    }

    private double rttSeconds(Candidate c, NetworkCoordinate self) {
        if (c.self()) {
            return 0;
        }
        if (self != null) {
            NetworkCoordinate peer = coordinates.peer(c.node());
            if (peer != null) {
                return Vivaldi.estimate(self, peer);
            }
        }
        if (c.probeRtt() != null) {
            return c.probeRtt().toNanos() / 1e9;
        }
        return ceilingSeconds;
    }

    /** The preferred region first, then the others by their closest usable host. */
    private static List<String> regionOrder(List<Candidate> all, Scores s, String preferred) {
        var regions = new ArrayList<String>(4);
        double[] closest = new double[8];
        for (int i = 0; i < all.size(); i++) {
            if (s.filter[i] != null) {
                continue;
            }
            String region = all.get(i).region();
            int r = regions.indexOf(region);
            if (r < 0) {
                r = regions.size();
                regions.add(region);
                if (r == closest.length) {
                    closest = java.util.Arrays.copyOf(closest, r * 2);
                }
                closest[r] = s.rtt[i];
            } else {
                closest[r] = Math.min(closest[r], s.rtt[i]);
            }
        }
        var order = new ArrayList<String>(regions.size() + 1);
        order.add(preferred);
        double[] rtt = closest;
        var rest = new ArrayList<Integer>(regions.size());
        for (int r = 0; r < regions.size(); r++) {
            if (!regions.get(r).equals(preferred)) {
                rest.add(r);
            }
        }
        rest.sort(Comparator.comparingDouble(r -> rtt[r]));
        for (int r : rest) {
            order.add(regions.get(r));
        }
        return order;
    }

    private static boolean hasRegion(List<Candidate> all, String region) {
        for (Candidate c : all) {
            if (c.region().equals(region)) {
                return true;
            }
        }
        return false;
    }

    /** The smallest estimated RTT to a host of this node's region (this node itself: 0). */
    private double bestLocalRtt(List<Candidate> all, Scores s) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).region().equals(source.localRegion())) {
                best = Math.min(best, s.rtt[i]);
            }
        }
        return best == Double.MAX_VALUE ? 0 : best;
    }

    /**
     * Power of two choices among the best {@code choices} eligible hosts: of {@code region}
     * (null: any), unsaturated unless {@code saturatedToo}, unfiltered unless
     * {@code softFilteredToo} (then hosts filtered for a soft reason count as well).
     * Returns the index, or -1.
     */
    private int pick(List<Candidate> all, Scores s, String region, boolean saturatedToo, boolean softFilteredToo) {
        int k = config.choices();
        int[] best = new int[k];
        int found = 0;
        for (int i = 0; i < all.size(); i++) {
            Filter f = s.filter[i];
            if (f != null && (!softFilteredToo || f.hard)) {
                continue;
            }
            if (!saturatedToo && s.saturated[i]) {
                continue;
            }
            if (region != null && !region.equals(all.get(i).region())) {
                continue;
            }
            // Insert i into the best-k list, kept in score order.
            int at = found < k ? found : k;
            while (at > 0 && s.score[best[at - 1]] > s.score[i]) {
                at--;
            }
            if (at < k) {
                System.arraycopy(best, at, best, at + 1, Math.min(found, k - 1) - at);
                best[at] = i;
                found = Math.min(k, found + 1);
            }
        }
        if (found == 0) {
            return -1;
        }
        if (found == 1) {
            return best[0];
        }
        int a = random.nextInt(found);
        int b = random.nextInt(found - 1);
        if (b >= a) {
            b++;
        }
        return s.score[best[b]] < s.score[best[a]] ? best[b] : best[a];
    }

    /**
     * The chosen host, then up to {@code maxAttempts - 1} alternates: unfiltered peers, those
     * of the chosen region first, then unsaturated before saturated, then by score. Picked by
     * repeated scans (a few), not by sorting every host.
     */
    private List<RouteDecision.Target> targets(List<Candidate> all, Scores s, int chosen) {
        var out = new ArrayList<RouteDecision.Target>(config.maxAttempts());
        out.add(target(all.get(chosen), s.rtt[chosen]));
        String region = all.get(chosen).region();
        int[] taken = new int[config.maxAttempts()];
        taken[0] = chosen;
        for (int round = 1; round < config.maxAttempts(); round++) {
            int best = -1;
            double bestKey = Double.MAX_VALUE;
            for (int i = 0; i < all.size(); i++) {
                if (s.filter[i] != null || all.get(i).self() || contains(taken, round, i)) {
                    continue;
                }
                // Region mismatch dominates saturation, which dominates the score (< 1.1).
                double key = (all.get(i).region().equals(region) ? 0 : 4) + (s.saturated[i] ? 2 : 0) + s.score[i];
                if (key < bestKey) {
                    bestKey = key;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            taken[round] = best;
            out.add(target(all.get(best), s.rtt[best]));
        }
        return out;
    }

    private static boolean contains(int[] values, int count, int value) {
        for (int i = 0; i < count; i++) {
            if (values[i] == value) {
                return true;
            }
        }
        return false;
    }

    private static RouteDecision.Target target(Candidate c, double rttSeconds) {
        return new RouteDecision.Target(c.node(), c.region(), c.host(), c.port(), rttSeconds * 1e3);
    }

    private RouteExplanation explanation(String model, RequestSource requestSource,
                                         Optional<AffinityRules.Match> match, String preferred, List<Candidate> all,
                                         Scores s, int chosen, String tier, double added, String note, long nanos) {
        var lines = new ArrayList<RouteExplanation.Line>(all.size());
        for (int i = 0; i < all.size(); i++) {
            Candidate c = all.get(i);
            Filter f = s.filter[i];
            String why = f == null ? null : f == Filter.NOT_READY ? String.format(f.text, c.nodeState()) : f.text;
            boolean scored = f == null || i == chosen;
            lines.add(new RouteExplanation.Line(c.node(), c.region(), c.nodeState(),
                    scored ? s.load[i] : null, scored ? s.latency[i] : null, scored ? s.affinity[i] : null,
                    scored ? s.score[i] : null, s.rtt[i] * 1e3, s.saturated[i], why, i == chosen));
        }
        lines.sort(Comparator.comparing((RouteExplanation.Line l) -> l.score() == null ? 1 : 0)
                .thenComparing(l -> l.score() == null ? 0.0 : l.score()));
        Candidate c = chosen < 0 ? null : all.get(chosen);
        String outcome = c == null ? "no_candidate" : c.self() ? "local" : "forward";
        return new RouteExplanation(model, requestSource.toString(), match.map(AffinityRules.Match::rule).orElse(null),
                preferred, c == null ? null : c.region(), outcome, c == null ? null : c.node(), tier, added, note,
                nanos / 1e3, lines);
    }

    /** The per-candidate numbers of one decision, as parallel arrays. */
    private static final class Scores {
        final double[] rtt;
        final double[] load;
        final double[] latency;
        final double[] affinity;
        final double[] score;
        final boolean[] saturated;
        final Filter[] filter;

        Scores(int n) {
            rtt = new double[n];
            load = new double[n];
            latency = new double[n];
            affinity = new double[n];
            score = new double[n];
            saturated = new boolean[n];
            filter = new Filter[n];
        }
    }
}
