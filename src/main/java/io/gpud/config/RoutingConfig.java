package io.gpud.config;

import java.time.Duration;
import java.util.List;

/**
 * How a node chooses where a request runs: itself or a peer, and which peer.
 *
 * <p>A candidate's score is {@code weightLoad·load + weightLatency·latency +
 * weightAffinity·affinity + weightCache·cache}, each term in [0,1] and lower better; the
 * weights must sum to 1. {@code weightCache} is 0 by default: the cache term is off and the
 * score is exactly SPEC's 0.5/0.3/0.2. {@link #withCacheAffinity()} gives the split
 * proposed for cache-affinity routing.
 *
 * @param enabled             false serves every request locally, as a node without peers does
 * @param weightLoad          weight of the load term: outstanding / (outstanding + capacity), where
 *                            outstanding = queue + in flight + sent but not yet reported. Raising it spreads work more evenly at the
 *                            price of longer network paths
 * @param weightLatency       weight of the latency term: estimated RTT / {@code latencyCeiling}
 * @param weightAffinity      weight of the affinity term: 0 when the candidate is in the region
 *                            an affinity rule names for the request's source, else 1
 * @param weightCache         weight of the cache term: 1 − (the request's prompt blocks the
 *                            candidate is known to hold in its KV cache) / (the request's
 *                            whole prompt blocks); 0 for every candidate when the prompt has
 *                            no whole block. 0 turns the term off (the routing node then does
 *                            not compute the request's block names). Raising it keeps
 *                            conversations on the hosts that hold them (prefill skipped) at the
 *                            price of less even load; the load term still keeps a saturated
 *                            cached host from winning
 * @param latencyCeiling      the RTT that counts as the worst latency (term 1); anything slower
 *                            is 1 too
 * @param staleLoadAfter      a load record older than this counts as saturated (the load
 *                            channel sends every 250 ms, so 1 s is four missed records)
 * @param crossRegionPenalty  the added latency a failover to another region may cost without
 *                            the decision saying that it exceeds the budget
 * @param choices             how many of the best candidates the power-of-two choice samples
 *                            from; 1 always takes the best (herds), larger spreads more
 * @param maxAttempts         peers tried for one request before giving up (connect failure,
 *                            429 or 503 before the first byte reached the client)
 * @param connectTimeout      TCP connect timeout to a peer's data port
 * @param breakerFailures     consecutive failures that open a peer's circuit
 * @param breakerOpenFor      how long an open circuit refuses the peer before one half-open probe
 * @param proxyProtocol       accept a PROXY protocol v2 header (as PrivateLink's NLB sends it) on
 *                            the data port; its source address and VPC endpoint id feed affinity.
 *                            When on, every connection must start with the header
 * @param affinity            rules {@code SOURCE=REGION}: SOURCE is a CIDR ({@code 10.34.10.0/24}),
 *                            a VPC endpoint id ({@code vpce-...}) or a VPC id ({@code vpc-...});
 *                            the first rule that matches names the preferred region
 * @param firstByteTimeout    how long a forward waits, from sending, for the first byte of the
 *                            peer's answer body. Past it the peer counts as failed and the next
 *                            target is tried (nothing has reached the client yet). A non-streamed
 *                            answer arrives whole at the end of its generation, so this bounds
 *                            the longest generation a forward waits for: lower finds a frozen
 *                            peer sooner, and gives up on long non-streamed answers
 * @param idleTimeout         how long a forward waits for the next piece of an answer that has
 *                            begun: past it the peer counts as failed, and a client that got part
 *                            of the answer sees it end early, as when the peer's stream breaks
 * @param peerTls             mutual TLS between peers: the listener forwards go to, and the
 *                            cluster CA that decides who is a peer
 */
public record RoutingConfig(
        boolean enabled,
        double weightLoad,
        double weightLatency,
        double weightAffinity,
        Duration latencyCeiling,
        Duration staleLoadAfter,
        Duration crossRegionPenalty,
        int choices,
        int maxAttempts,
        Duration connectTimeout,
        int breakerFailures,
        Duration breakerOpenFor,
        boolean proxyProtocol,
        List<String> affinity,
        Duration firstByteTimeout,
        Duration idleTimeout,
        PeerTlsConfig peerTls,
        double weightCache) {

    public RoutingConfig {
        weight("routing.weightLoad", weightLoad);
        weight("routing.weightLatency", weightLatency);
        weight("routing.weightAffinity", weightAffinity);
        weight("routing.weightCache", weightCache);
        double sum = weightLoad + weightLatency + weightAffinity + weightCache;
        if (Math.abs(sum - 1.0) > 1e-6) {
            throw new ConfigException("routing weights were " + weightLoad + " + " + weightLatency + " + "
                    + weightAffinity + " + " + weightCache + " = " + sum + ", must sum to 1");
        }
        Validate.positive("routing.latencyCeiling", latencyCeiling);
        Validate.positive("routing.staleLoadAfter", staleLoadAfter);
        Validate.positive("routing.crossRegionPenalty", crossRegionPenalty);
        Validate.range("routing.choices", choices, 1, 16);
        Validate.range("routing.maxAttempts", maxAttempts, 1, 10);
        Validate.positive("routing.connectTimeout", connectTimeout);
        Validate.range("routing.breakerFailures", breakerFailures, 1, 1000);
        Validate.positive("routing.breakerOpenFor", breakerOpenFor);
        affinity = List.copyOf(affinity);
        for (String rule : affinity) {
            int eq = rule.indexOf('=');
            if (eq <= 0 || eq == rule.length() - 1) {
                throw ConfigException.invalid("routing.affinity", "rule was '" + rule + "', must be SOURCE=REGION "
                        + "(10.34.10.0/24=us-east-1, vpce-0abc=us-west-2, vpc-0123=eu-west-1)");
            }
        }
        Validate.positive("routing.firstByteTimeout", firstByteTimeout);
        Validate.positive("routing.idleTimeout", idleTimeout);
        Validate.notNull("routing.peerTls", peerTls);
    }

    /** A configuration without the cache term ({@code weightCache} 0). */
    public RoutingConfig(boolean enabled, double weightLoad, double weightLatency, double weightAffinity,
                         Duration latencyCeiling, Duration staleLoadAfter, Duration crossRegionPenalty, int choices,
                         int maxAttempts, Duration connectTimeout, int breakerFailures, Duration breakerOpenFor,
                         boolean proxyProtocol, List<String> affinity, Duration firstByteTimeout, Duration idleTimeout,
                         PeerTlsConfig peerTls) {
        this(enabled, weightLoad, weightLatency, weightAffinity, latencyCeiling, staleLoadAfter, crossRegionPenalty,
                choices, maxAttempts, connectTimeout, breakerFailures, breakerOpenFor, proxyProtocol, affinity,
                firstByteTimeout, idleTimeout, peerTls, 0.0);
    }

    private static void weight(String field, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw ConfigException.invalid(field, "was " + value + ", must be in [0, 1]");
        }
    }

    /**
     * Defaults: weights 0.5/0.3/0.2 (SPEC section 5), RTT ceiling 200 ms, load stale after
     * 1 s, cross-region penalty 80 ms, power of two among the best 3, 3 attempts, 1 s
     * connect timeout, circuit open after 5 failures for 5 s, no PROXY protocol, no rules;
     * a forward's first answer byte within 60 s and then no pause over 30 s; no peer TLS
     * (listener port 8401 once configured).
     */
    public static RoutingConfig defaults() {
        return new RoutingConfig(true, 0.5, 0.3, 0.2, Duration.ofMillis(200), Duration.ofSeconds(1),
                Duration.ofMillis(80), 3, 3, Duration.ofSeconds(1), 5, Duration.ofSeconds(5), false, List.of(),
                Duration.ofSeconds(60), Duration.ofSeconds(30), PeerTlsConfig.defaults());
    }

    /** This configuration with other forward deadlines. */
    public RoutingConfig withForwardDeadlines(Duration firstByte, Duration idle) {
        return new RoutingConfig(enabled, weightLoad, weightLatency, weightAffinity, latencyCeiling, staleLoadAfter,
                crossRegionPenalty, choices, maxAttempts, connectTimeout, breakerFailures, breakerOpenFor, proxyProtocol,
                affinity, firstByte, idle, peerTls, weightCache);
    }

    /** This configuration with other weights (they must sum to 1). */
    public RoutingConfig withWeights(double load, double latency, double affinityWeight, double cache) {
        return new RoutingConfig(enabled, load, latency, affinityWeight, latencyCeiling, staleLoadAfter,
                crossRegionPenalty, choices, maxAttempts, connectTimeout, breakerFailures, breakerOpenFor, proxyProtocol,
                affinity, firstByteTimeout, idleTimeout, peerTls, cache);
    }

    /**
     * This configuration with the cache term on, weights load 0.35, latency 0.2, affinity
     * 0.15, cache 0.3. Why this split: a host holding the whole prompt (cache 0) gains 0.3 on
     * an uncached one (cache 1); the load term costs 0.35·outstanding/(outstanding + capacity),
     * at most 0.175 while the host has a free slot. So a host holding a whole conversation
     * keeps it until its slots are full (the prefill it skips is worth more than a queue
     * slot), and from then on the saturation rule sends the request elsewhere: a saturated
     * host is chosen only when no region has an unsaturated one. A host holding a share f of
     * the prompt gains 0.3·f, which the load term takes back at load 0.86·f (f = 0.2, a
     * shared system prompt: at about a quarter of its capacity outstanding). Latency and
     * affinity keep their 3:2 ratio. The prefix-cluster benchmark measures the split
     * against round robin and load-only.
     */
    public RoutingConfig withCacheAffinity() {
        return withWeights(0.35, 0.2, 0.15, 0.3);
    }
}
