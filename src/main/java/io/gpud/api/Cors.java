package io.gpud.api;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Cross-origin access to the data plane for the origins {@code api.corsOrigins} allows
 * ({@code *}: all). A request from an allowed origin gets {@code Access-Control-Allow-Origin}
 * naming it; a preflight ({@code OPTIONS} with {@code Access-Control-Request-Method}) from one
 * is answered here, 204, with the methods and the headers it asked for. Anything else, and
 * every request when no origin is configured, passes through without CORS headers.
 */
final class Cors {
    private static final HeaderName REQUEST_METHOD = HeaderNames.create("Access-Control-Request-Method");
    private static final HeaderName REQUEST_HEADERS = HeaderNames.create("Access-Control-Request-Headers");
    private static final HeaderName ALLOW_ORIGIN = HeaderNames.create("Access-Control-Allow-Origin");
    private static final HeaderName ALLOW_METHODS = HeaderNames.create("Access-Control-Allow-Methods");
    private static final HeaderName ALLOW_HEADERS = HeaderNames.create("Access-Control-Allow-Headers");
    private static final HeaderName EXPOSE_HEADERS = HeaderNames.create("Access-Control-Expose-Headers");
    private static final HeaderName MAX_AGE = HeaderNames.create("Access-Control-Max-Age");
    private static final String METHODS = "GET, HEAD, POST, DELETE, OPTIONS";
    /** How long a browser may cache a preflight's answer, in seconds. */
    private static final String PREFLIGHT_SECONDS = "600";

    private final Set<String> origins;

    Cors(List<String> origins) {
        this.origins = Set.copyOf(origins);
    }

    /** Adds the CORS headers the request's origin earns; true when it was a preflight, answered here. */
    boolean handle(ServerRequest req, ServerResponse res) {
        if (origins.isEmpty()) {
            return false;
        }
        Optional<String> origin = req.headers().first(HeaderNames.ORIGIN);
        if (origin.isEmpty() || !(origins.contains("*") || origins.contains(origin.get()))) {
            return false;
        }
        res.header(ALLOW_ORIGIN, origins.contains("*") ? "*" : origin.get());
        res.header(HeaderNames.VARY, "Origin");
        res.header(EXPOSE_HEADERS, ApiServer.NODE_HEADER + ", Retry-After");
        if (req.prologue().method() != Method.OPTIONS || !req.headers().contains(REQUEST_METHOD)) {
            return false;
        }
        res.header(ALLOW_METHODS, METHODS);
        res.header(ALLOW_HEADERS, req.headers().first(REQUEST_HEADERS).orElse("Content-Type, Authorization"));
        res.header(MAX_AGE, PREFLIGHT_SECONDS);
        res.status(Status.NO_CONTENT_204).send();
        return true;
    }
}
