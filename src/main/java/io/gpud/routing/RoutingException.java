package io.gpud.routing;

import io.gpud.core.GpudException;

/** An unexpected failure in routing or forwarding (expected outcomes are {@link RouteDecision} values). */
public final class RoutingException extends GpudException {

    public RoutingException(String message) {
        super(message);
    }

    public RoutingException(String message, Throwable cause) {
        super(message, cause);
    }
}
