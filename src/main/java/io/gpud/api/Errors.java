package io.gpud.api;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The one place where failures become HTTP responses. An {@link ApiException} carries its
 * status; anything else is an internal error (500), logged with its cause and shown to the
 * client only as "internal error". 429 and 503 carry {@code Retry-After} in whole seconds.
 *
 * <p>OpenAI routes answer {@code {"error":{"message","type","param","code"}}}; Ollama routes
 * answer {@code {"error":"message"}}, as Ollama does.
 */
final class Errors {

    private static final Logger LOG = LoggerFactory.getLogger(Errors.class);

    /** Which API's error shape a route speaks. */
    enum Dialect { OPENAI, OLLAMA }

    private Errors() {
    }

    /** The failure as the client will see it. */
    static ApiException classify(Throwable failure) {
        if (failure instanceof ApiException api) {
            if (api.status() >= 500 && api.getCause() != null) {
                LOG.error("request failed: {}", api.getMessage(), api.getCause());
            }
            return api;
        }
        LOG.error("request failed unexpectedly", failure);
        return ApiException.internal("internal error", failure);
    }

    /** Answers the request with the error; the response must not have been sent yet. */
    static void send(ServerResponse res, Throwable failure, Dialect dialect) {
        ApiException e = classify(failure);
        e.retryAfter().ifPresent(d -> res.header(HeaderNames.RETRY_AFTER, Long.toString(retryAfterSeconds(d))));
        Responses.json(res, e.status(), body(e, dialect));
    }

    /** The error document in the route's dialect. */
    static Object body(ApiException e, Dialect dialect) {
        if (dialect == Dialect.OLLAMA) {
            return Map.of("error", e.getMessage());
        }
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        return Map.of("error", error);
    }

    /**
     * Answers what the HTTP layer refuses before any route runs (a malformed request line or
     * chunk, headers over the limit, a body over the limit) with the same error object and
     * the node header; the connection is then closed. A refusal of the client's bytes is a
     * 4xx saying why: a body over {@code maxBodyBytes} is 413 naming the limit; HTTP/1.0
     * (which Helidon answers 505) and a transfer coding it does not implement (501) are 400;
     * an internal error that Helidon reports while the connection's thread is still reading
     * the request line and headers ({@code readingRequestHead}: stray bytes in the method
     * fail its token validation, which it reports as an internal error) is 400. An internal
     * error once the request head was read (routing, a handler) stays a 500 and is logged.
     * Each refusal is counted in {@code refusals}, one log line per interval.
     */
    static DirectHandler directHandler(String nodeId, long maxBodyBytes, RefusalLog refusals,
                                       BooleanSupplier readingRequestHead) {
        return new DirectHandler() {
            @Override
            public TransportResponse handle(TransportRequest request, EventType event, Status status,
                                            ServerResponseHeaders headers, Throwable thrown) {
                return respond(request, event, status, headers, thrown.getMessage(), thrown);
            }

            @Override
            public TransportResponse handle(TransportRequest request, EventType event, Status status,
                                            ServerResponseHeaders headers, String message) {
                return respond(request, event, status, headers, message, null);
            }

            private TransportResponse respond(TransportRequest request, EventType event, Status status,
                                              ServerResponseHeaders headers, String message, Throwable thrown) {
                ApiException e = transportFailure(request, event, status, message, thrown, maxBodyBytes,
                        readingRequestHead);
                if (e.status() >= 500) {
                    LOG.error("the HTTP layer failed a request before routing ({} {}): {}", event, status.code(),
                            message, thrown);
                } else {
                    refusals.refused("refused by the HTTP layer", e.status() + ": " + e.getMessage());
                }
                return TransportResponse.builder()
                        .status(Status.create(e.status()))
                        .headers(headers)
                        .header(HeaderNames.CONTENT_TYPE, Responses.JSON)
                        .header(HeaderNames.create(ApiServer.NODE_HEADER), nodeId)
                        .entity(Responses.bytes(body(e, Dialect.OPENAI)))
                        .build();
            }
        };
    }

    /** What a failure of the HTTP layer before routing tells the client. */
    private static ApiException transportFailure(DirectHandler.TransportRequest request,
                                                 DirectHandler.EventType event, Status status, String message,
                                                 Throwable thrown, long maxBodyBytes,
                                                 BooleanSupplier readingRequestHead) {
        return switch (status.code()) {
            case 413 -> ApiException.tooLarge("the request body", maxBodyBytes);
            case 505 -> ApiException.transport(400, "the request line names " + request.protocolVersion()
                    + "; this server speaks HTTP/1.1 only");
            case 501 -> ApiException.transport(400, "the request asks for what this server does not implement ("
                    + message + "): a body is sent with Content-Length or Transfer-Encoding: chunked only");
            default -> {
                if (status.code() < 500) {
                    yield ApiException.transport(status.code(), "the request was refused as malformed HTTP: "
                            + status.code() + " " + status.reasonPhrase());
                }
                if (event == DirectHandler.EventType.INTERNAL_ERROR && readingRequestHead.getAsBoolean()) {
                    yield ApiException.transport(400, "the request is not well-formed HTTP/1.1");
                }
                yield ApiException.internal("internal error", thrown);
            }
        };
    }

    static long retryAfterSeconds(Duration d) {
        return Math.max(1, (d.toMillis() + 999) / 1000);
    }
}
