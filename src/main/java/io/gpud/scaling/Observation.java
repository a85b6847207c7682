package io.gpud.scaling;

import java.time.Instant;

/**
 * What the controller sees of a pool at one moment.
 *
 * @param at          when it was measured (the controller's only notion of time)
 * @param rps         requests per second over the rate window, over the whole pool
 * @param windowFull  whether the measurements cover a whole window yet; the controller
 *                    decides nothing on a partial one
 * @param instances   instances in service (reporting) in the pool
 * @param queueDepth  requests queued over the whole pool
 */
public record Observation(Instant at, double rps, boolean windowFull, int instances, int queueDepth) {

    public Observation {
        if (at == null) {
            throw new IllegalArgumentException("at is missing");
        }
        if (!(rps >= 0) || !Double.isFinite(rps)) {
            throw new IllegalArgumentException("rps was " + rps + ", must be a finite number >= 0");
        }
        if (instances < 0 || queueDepth < 0) {
            throw new IllegalArgumentException("instances was " + instances + " and queueDepth " + queueDepth
                    + ", must be >= 0");
        }
    }
}
