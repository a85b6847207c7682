package io.gpud.routing;

import java.time.Duration;
import java.util.Set;

/**
 * One host that might serve a request, as this node knows it now.
 *
 * @param node        its id
 * @param region      its region
 * @param host        its data-plane address
 * @param port        its data-plane port
 * @param alive       false when membership suspects it
 * @param nodeState   its lifecycle state as it gossips it (READY, DRAINING, ...)
 * @param models      the models it serves
 * @param capacity    concurrent sequences it offers (at least 1 is assumed)
 * @param queueDepth  sequences waiting on it, from its newest load record
 * @param inFlight    sequences generating on it, from its newest load record
 * @param loadAtNanos when that load record was taken, on the router's {@code MonotonicClock}
 *                    (a record that arrived {@code age} ago: now minus age), or {@link #NO_LOAD}
 *                    when none has arrived. An instant rather than an age, so that a host
 *                    list stays valid, unchanged, while time passes
 * @param probeRtt    the smoothed RTT of direct probes, or null; used when no coordinate is known
 * @param self        true for this node
 */
public record Candidate(String node, String region, String host, int port, boolean alive, String nodeState,
                       Set<String> models, int capacity, int queueDepth, int inFlight, long loadAtNanos,
                       Duration probeRtt, boolean self) {

    /** {@link #loadAtNanos} of a host whose load record has not arrived. */
    public static final long NO_LOAD = Long.MIN_VALUE;

    public Candidate {
        models = Set.copyOf(models);
    }

    /** True when a load record has arrived. */
    public boolean hasLoad() {
        return loadAtNanos != NO_LOAD;
    }

    /** How old the load record is at {@code nowNanos}, or null when none has arrived. */
    public Duration loadAge(long nowNanos) {
        return hasLoad() ? Duration.ofNanos(nowNanos - loadAtNanos) : null;
    }
}
