package io.gpud.routing;

import java.util.List;

/**
 * Where a request runs, as the router decided. Each carries its explanation when one was
 * asked for (null otherwise).
 */
public sealed interface RouteDecision {

    /** The explanation, or null when the decision was made without one. */
    RouteExplanation explanation();

    /** Serve it on this node. */
    record Local(RouteExplanation explanation) implements RouteDecision {
    }

    /**
     * Forward it: to the first target, then, before any byte reached the client, to the
     * next ones in order.
     *
     * @param targets        the chosen peer first, then the alternates
     * @param addedLatencyMs estimated RTT of the chosen peer beyond the best local-region host
     *                       (0 within the local region)
     */
    record Forward(List<Target> targets, double addedLatencyMs, RouteExplanation explanation)
            implements RouteDecision {
        public Forward {
            targets = List.copyOf(targets);
            if (targets.isEmpty()) {
                throw new IllegalArgumentException("a forward decision needs at least one target");
            }
        }
    }

    /**
     * No host can take it: the node answers as it would alone (an error from its own API:
     * 404 for an unknown model, 503 when draining).
     */
    record NoCandidate(String reason, RouteExplanation explanation) implements RouteDecision {
    }

    /**
     * A peer to forward to.
     *
     * @param node     its id
     * @param region   its region
     * @param host     its data-plane address
     * @param port     its data-plane port
     * @param rttMs    the estimated RTT to it
     */
    record Target(String node, String region, String host, int port, double rttMs) {
    }
}
