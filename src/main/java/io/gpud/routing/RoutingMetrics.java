package io.gpud.routing;

import io.gpud.metrics.Counter;
import io.gpud.metrics.Histogram;
import io.gpud.metrics.MetricRegistry;

/** Routing's metric families. */
public final class RoutingMetrics {

    private static final double[] DECISION_SECONDS = {5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
            5e-3, 1e-2};

    /** Decisions by outcome: local, forward, forward_cross_region, no_candidate. */
    final Counter decisions;
    /** How long deciding took. */
    final Histogram decisionSeconds;
    /** Forwarding attempts by result: ok, connect_failed, tls_failed, timeout, overloaded, unavailable, error. */
    final Counter attempts;
    /** Circuits opened, by peer. */
    final Counter circuitsOpened;

    /** Registers the families in {@code registry}. */
    public RoutingMetrics(MetricRegistry registry) {
        decisions = registry.counter("gpud_route_decisions_total", "Routing decisions by outcome", "outcome");
        decisionSeconds = registry.histogram("gpud_route_decision_seconds", "Time to decide where a request runs",
                DECISION_SECONDS);
        attempts = registry.counter("gpud_route_forward_attempts_total", "Requests forwarded to peers, by result",
                "result");
        circuitsOpened = registry.counter("gpud_route_circuits_opened_total", "Peer circuit breakers opened", "peer");
    }
}
