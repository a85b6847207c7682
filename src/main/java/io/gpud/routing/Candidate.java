package io.gpud.routing;

import java.time.Duration;
import java.util.Set;

/**
 * One host that might serve a request, as this node knows it now.
 *
 * @param node      its id
 * @param region    its region
 * @param host      its data-plane address
 * @param port      its data-plane port
 * @param alive     false when membership suspects it
 * @param nodeState its lifecycle state as it gossips it (READY, DRAINING, ...)
 * @param models    the models it serves
 * @param capacity  concurrent sequences it offers (at least 1 is assumed)
 * @param queueDepth sequences waiting on it, from its newest load record
 * @param inFlight  sequences generating on it, from its newest load record
 * @param loadAge   how old that load record is, or null when none has arrived
 * @param probeRtt  the smoothed RTT of direct probes, or null; used when no coordinate is known
 * @param self      true for this node
 */
public record Candidate(String node, String region, String host, int port, boolean alive, String nodeState,
                       Set<String> models, int capacity, int queueDepth, int inFlight, Duration loadAge,
                       Duration probeRtt, boolean self) {

    public Candidate {
        models = Set.copyOf(models);
    }
}
