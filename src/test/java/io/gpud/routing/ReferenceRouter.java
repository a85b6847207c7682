package io.gpud.routing;

import io.gpud.config.RoutingConfig;
import io.gpud.membership.NetworkCoordinate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The routing decision of {@link Router}'s header written the plain way, for differential
 * tests: candidate objects, a map per region, sorting where the router keeps tiny best-k
 * arrays. Same inputs and the same random sequence must give the same decision.
 */
final class ReferenceRouter {

    /** One host's numbers. */
    record Scored(Candidate host, String filtered, boolean hard, double rtt, double load, double latency,
                  double affinity, double cache, int matched, double score, boolean saturated, long tieKey) {
    }

    /** What the decision came to. */
    record Result(String outcome, String chosen, List<String> targets, double addedMs, String tier,
                  List<Scored> scored) {
    }

    private final RoutingConfig config;
    private final String localRegion;

    ReferenceRouter(RoutingConfig config, String localRegion) {
        this.config = config;
        this.localRegion = localRegion;
    }

    /**
     * @param all      this node (if a candidate) first, then the peers
     * @param sends    per peer, the instants this node sent it a request
     * @param unfinished per peer, how many of those have not ended
     * @param open     peers whose circuit is open
     * @param vivaldi  coordinates, or null
     */
    Result decide(List<Candidate> all, String model, String affinityRegion, long now, Vivaldi vivaldi,
                  Map<String, List<Long>> sends, Map<String, Integer> unfinished, Set<String> open,
                  RandomGenerator random) {
        return decide(all, model, affinityRegion, now, vivaldi, sends, unfinished, open, random, Map.of(), 0);
    }

    /**
     * @param matched per host, how many of the request's leading blocks it holds
     * @param blocks  the request's whole blocks (0: no names, the cache term is 0 for all)
     */
    Result decide(List<Candidate> all, String model, String affinityRegion, long now, Vivaldi vivaldi,
                  Map<String, List<Long>> sends, Map<String, Integer> unfinished, Set<String> open,
                  RandomGenerator random, Map<String, Integer> matched, int blocks) {
        boolean cacheOn = config.weightCache() > 0 && blocks > 0;
        // The router's slots: this node at 0, the peers from 1; equal scores rank by the
        // decision's random order of slots.
        long salt = random.nextLong();
        int firstPeerSlot = !all.isEmpty() && all.getFirst().self() ? 0 : 1;
        double ceiling = config.latencyCeiling().toNanos() / 1e9;
        long stale = config.staleLoadAfter().toNanos();
        var scored = new ArrayList<Scored>();
        for (int slot = 0; slot < all.size(); slot++) {
            Candidate c = all.get(slot);
            String filtered = null;
            boolean hard = false;
            boolean serves = c.models().contains(model) || model.endsWith(":latest")
                    && c.models().contains(model.substring(0, model.length() - 7));
            if (!serves) {
                filtered = "model not loaded";
                hard = true;
            } else if (!c.nodeState().equals("READY")) {
                filtered = "state " + c.nodeState();
                hard = true;
            } else if (!c.alive()) {
                filtered = "suspected by membership";
            } else if (!c.self() && open.contains(c.node())) {
                filtered = "circuit open";
            }
            double rtt;
            NetworkCoordinate peer = vivaldi == null || c.self() ? null : vivaldi.peer(c.node());
            if (c.self()) {
                rtt = 0;
            } else if (peer != null) {
                rtt = Vivaldi.estimate(vivaldi.local(), peer);
            } else if (c.probeRtt() != null) {
                rtt = c.probeRtt().toNanos() / 1e9;
            } else {
                rtt = ceiling;
            }
            long staleAfter = c.region().equals(localRegion) ? stale : stale + 2_000_000_000L;
            boolean isStale = !c.self() && (!c.hasLoad() || now - c.loadAtNanos() > staleAfter);
            long outstanding = (long) c.queueDepth() + c.inFlight();
            if (!c.self()) {
                long since = c.hasLoad() ? c.loadAtNanos() : now - stale;
                outstanding += sends.getOrDefault(c.node(), List.of()).stream().filter(t -> t - since > 0).count();
                outstanding = Math.max(outstanding, unfinished.getOrDefault(c.node(), 0));
            }
            double load = isStale ? 1.0 : (double) outstanding / (outstanding + c.capacity());
            double latency = Math.min(1.0, rtt / ceiling);
            double affinity = affinityRegion == null || affinityRegion.equals(c.region()) ? 0 : 1;
            int held = cacheOn ? matched.getOrDefault(c.node(), 0) : 0;
            double cache = cacheOn ? 1.0 - (double) held / blocks : 0.0;
            double score = config.weightLoad() * load + config.weightLatency() * latency
                    + config.weightAffinity() * affinity;
            if (cacheOn) {
                score += config.weightCache() * cache;
            }
            scored.add(new Scored(c, filtered, hard, rtt, load, latency, affinity, cache, held, score,
                    isStale || outstanding >= c.capacity(), Router.tieKey(salt, slot + firstPeerSlot)));
        }
        String preferred = affinityRegion != null && all.stream().anyMatch(c -> c.region().equals(affinityRegion))
                ? affinityRegion : localRegion;
        Map<String, Double> closest = new LinkedHashMap<>();
        for (Scored s : scored) {
            if (s.filtered() == null) {
                closest.merge(s.host().region(), s.rtt(), Math::min);
            }
        }
        var order = new ArrayList<String>();
        order.add(preferred);
        closest.entrySet().stream().filter(e -> !e.getKey().equals(preferred))
                .sorted(Map.Entry.comparingByValue()).forEach(e -> order.add(e.getKey()));
        Scored chosen = null;
        String tier = null;
        for (String region : order) {
            chosen = pick(scored.stream().filter(s -> s.filtered() == null && !s.saturated()
                    && s.host().region().equals(region)).toList(), random, cacheOn ? blocks : 0);
            if (chosen != null) {
                tier = region.equals(preferred) ? "preferred region" : "failover to " + region;
                break;
            }
        }
        if (chosen == null) {
            chosen = pick(scored.stream().filter(s -> s.filtered() == null).toList(), random, 0);
            tier = "fail-open: all saturated";
        }
        if (chosen == null) {
            chosen = pick(scored.stream().filter(s -> s.filtered() == null || !s.hard()).toList(), random, 0);
            tier = "fail-open: all filtered";
        }
        if (chosen == null) {
            return new Result("no_candidate", null, List.of(), 0, null, scored);
        }
        double added = 0;
        if (!chosen.host().region().equals(localRegion)) {
            double bestLocal = scored.stream().filter(s -> s.host().region().equals(localRegion))
                    .mapToDouble(Scored::rtt).min().orElse(0);
            added = Math.max(0, chosen.rtt() - bestLocal) * 1e3;
        }
        if (chosen.host().self()) {
            return new Result("local", chosen.host().node(), List.of(), added, tier, scored);
        }
        String region = chosen.host().region();
        Scored first = chosen;
        var targets = new ArrayList<String>();
        targets.add(first.host().node());
        scored.stream().filter(s -> s.filtered() == null && !s.host().self() && s != first)
                .sorted(Comparator.comparingDouble((Scored s) -> (s.host().region().equals(region) ? 0 : 4)
                        + (s.saturated() ? 2 : 0) + s.score()).thenComparingLong(Scored::tieKey))
                .limit(config.maxAttempts() - 1).forEach(s -> targets.add(s.host().node()));
        return new Result("forward", first.host().node(), targets, added, tier, scored);
    }

    /**
     * Power of two choices among the best {@code choices} of {@code eligible} (ties in the
     * decision's order); with {@code blocks} above 0 (the cache rule), the best is taken
     * outright when it holds at least {@code blocks / 2} of the request's blocks more than
     * each of the others.
     */
    private Scored pick(List<Scored> eligible, RandomGenerator random, int blocks) {
        List<Scored> best = eligible.stream().sorted(Comparator.comparingDouble(Scored::score)
                        .thenComparingLong(Scored::tieKey))
                .limit(config.choices()).toList();
        if (best.isEmpty()) {
            return null;
        }
        if (best.size() == 1) {
            return best.getFirst();
        }
        Scored top = best.getFirst();
        if (blocks > 0 && top.matched() > 0
                && best.stream().skip(1).allMatch(s -> 2 * (top.matched() - s.matched()) >= blocks)) {
            return top;
        }
        int a = random.nextInt(best.size());
        int b = random.nextInt(best.size() - 1);
        if (b >= a) {
            b++;
        }
        return best.get(b).score() < best.get(a).score() ? best.get(b) : best.get(a);
    }
}
