/**
 * Peer-to-peer routing: for each request, which host of the cluster serves it, and the
 * forwarding to that host.
 *
 * <p>Read {@link io.gpud.routing.Router} first (its header explains the decision: filter,
 * score {@code 0.5·load + 0.3·latency + 0.2·affinity}, power of two choices, region
 * failover, fail-open). Hosts come from a {@link io.gpud.routing.CandidateSource}
 * ({@link io.gpud.routing.MembershipCandidates} over the gossip pool), and the router compiles
 * each host list it publishes into a {@code CandidateTable} of primitive arrays that every
 * request is scored against (the "Cost" section of the router's header); latency estimates
 * from {@link io.gpud.routing.Vivaldi} network coordinates fed by gossip probe round trips;
 * affinity from {@link io.gpud.routing.AffinityRules}. A decision is a
 * {@link io.gpud.routing.RouteDecision} value and can carry a
 * {@link io.gpud.routing.RouteExplanation}. {@link io.gpud.routing.PeerForwarder} sends
 * the request on (over mutual TLS to the peer's listener, or plain HTTP in an insecure
 * cluster) with a hop header and passes the answer through as it streams, under a
 * first-byte and an idle deadline, retrying other targets only before the first byte
 * reached the client, with a circuit breaker per peer.
 */
package io.gpud.routing;
