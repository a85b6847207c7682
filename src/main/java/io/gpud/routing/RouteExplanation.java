package io.gpud.routing;

import java.util.List;

/**
 * Why a request went where it went: every host considered, its sub-scores or the
 * reason it was left out, and what the decision cost. What {@code gpud route --explain}
 * prints.
 *
 * @param model            the model asked for
 * @param source           the request's source, as affinity saw it
 * @param affinityRule     the rule that matched, or null
 * @param preferredRegion  the region tried first (the affinity region, else this node's)
 * @param chosenRegion     the region of the chosen host, or null when none
 * @param outcome          {@code local}, {@code forward} or {@code no_candidate}
 * @param chosen           the chosen host, or null
 * @param tier             how the host was found: {@code preferred region}, {@code failover to REGION},
 *                         {@code fail-open: all saturated}, {@code fail-open: all filtered}, or none
 * @param addedLatencyMs   estimated RTT beyond the best local-region host
 * @param note             what the decision wants said: a failover beyond the cross-region
 *                         penalty, a fail-open; null when nothing
 * @param decisionMicros   how long deciding took
 * @param requestBlocks    whole KV blocks of the request's prompt the cache term looked for (0
 *                         when it had no names, or the term is off)
 * @param candidates       every host known, best score first, filtered ones last
 */
public record RouteExplanation(String model, String source, String affinityRule, String preferredRegion,
                               String chosenRegion, String outcome, String chosen, String tier,
                               double addedLatencyMs, String note, double decisionMicros, int requestBlocks,
                               List<Line> candidates) {

    public RouteExplanation {
        candidates = List.copyOf(candidates);
    }

    /**
     * One host.
     *
     * @param node      its id
     * @param region    its region
     * @param state     its gossiped state
     * @param load      load sub-score in [0,1], or null when filtered
     * @param latency   latency sub-score in [0,1], or null when filtered
     * @param affinity  affinity sub-score in [0,1], or null when filtered
     * @param cache     cache sub-score in [0,1]: 1 − cachedBlocks / requestBlocks (0 for every
     *                  host when the request has no whole block), or null when filtered
     * @param cachedBlocks blocks of the request's prompt the host is known to hold
     * @param score     the weighted sum, lower is better, or null when filtered
     * @param rttMs     the estimated RTT
     * @param saturated true when its load is stale or its slots are full
     * @param filtered  why it was left out, or null
     * @param chosen    true for the host the request went to
     */
    public record Line(String node, String region, String state, Double load, Double latency, Double affinity,
                       Double cache, int cachedBlocks, Double score, double rttMs, boolean saturated, String filtered, boolean chosen) {
    }
}
