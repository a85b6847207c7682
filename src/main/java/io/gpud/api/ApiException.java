package io.gpud.api;

import io.gpud.core.GpudException;

import java.time.Duration;
import java.util.Optional;

/**
 * A request the API refuses, carrying what the client is told: the HTTP status, the OpenAI
 * error {@code type}, {@code code} and {@code param}, and for 429/503 when to retry.
 *
 * <p>Thrown anywhere below a handler and turned into a response in one place
 * ({@code Errors}); the message is shown to the client, so it names the offending value.
 */
public final class ApiException extends GpudException {

    private final int status;
    private final String type;
    private final String code;
    private final String param;
    private final Duration retryAfter;

    private ApiException(int status, String type, String code, String param, Duration retryAfter,
                         String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.retryAfter = retryAfter;
    }

    /** 400: a value the request carries is malformed or out of range; {@code param} names the field. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", null, param, null, message, null);
    }

    /** 400: the body is not a JSON document we can read. */
    public static ApiException malformed(String message, Throwable cause) {
        return new ApiException(400, "invalid_request_error", "invalid_json", null, null, message, cause);
    }

    /** 400: the prompt alone does not fit the model's context. */
    public static ApiException contextLengthExceeded(String param, int promptTokens, int contextLength) {
        return new ApiException(400, "invalid_request_error", "context_length_exceeded", param, null,
                "the prompt is " + promptTokens + " tokens and this model's context is " + contextLength
                        + " tokens; shorten the prompt", null);
    }

    /** 400: the engine can never hold the request as asked (its KV cache alone exceeds the budget). */
    public static ApiException exceedsEngine(String reason) {
        return new ApiException(400, "invalid_request_error", "request_too_large", null, null,
                reason + "; ask for fewer tokens or shorten the prompt", null);
    }

    /** 404: no model of that name is served here. */
    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error", "model_not_found", "model", null,
                "the model '" + model + "' does not exist on this node", null);
    }

    /** 404: no route matches the path. */
    public static ApiException routeNotFound(String method, String path) {
        return new ApiException(404, "invalid_request_error", "unknown_url", null, null,
                "unknown request URL: " + method + " " + path, null);
    }

    /** 405: the path exists with another method. */
    public static ApiException methodNotAllowed(String method, String path) {
        return new ApiException(405, "invalid_request_error", "method_not_allowed", null, null,
                "method " + method + " is not allowed on " + path, null);
    }

    /** 413: the body (or head) is larger than the configured cap; {@code what} names it. */
    public static ApiException tooLarge(String what, long limitBytes) {
        return new ApiException(413, "invalid_request_error", "request_too_large", null, null,
                what + " exceeds the limit of " + limitBytes + " bytes", null);
    }

    /** 429: the engine's queue is full. */
    public static ApiException overloaded(String reason, Duration retryAfter) {
        return new ApiException(429, "rate_limit_error", "overloaded", null, retryAfter,
                "this node is at capacity: " + reason, null);
    }

    /** 503: the node does not take new work now (starting, draining, drained, quarantined). */
    public static ApiException unavailable(String message, Duration retryAfter) {
        return new ApiException(503, "service_unavailable", "unavailable", null, retryAfter, message, null);
    }

    /** A request refused by the HTTP layer before routing: malformed HTTP, oversized headers. */
    public static ApiException transport(int status, String message) {
        return new ApiException(status, status >= 500 ? "server_error" : "invalid_request_error", "invalid_http",
                null, null, message, null);
    }

    /**
     * A secure-envelope refusal: 400/403 for the caller's envelope, 5xx for the enclave or
     * KMS (503, retry in a second: it cannot be reached now). The message is deliberately
     * the same for every cryptographic failure.
     */
    public static ApiException secureRefused(int status, String message) {
        return new ApiException(status, status >= 500 ? "server_error" : "invalid_request_error", "secure_envelope",
                null, status == 503 ? Duration.ofSeconds(1) : null, message, null);
    }

    /** 500: a failure the client cannot fix; the cause is logged, not shown. */
    public static ApiException internal(String message, Throwable cause) {
        return new ApiException(500, "server_error", "internal_error", null, null, message, cause);
    }

    /** The HTTP status code. */
    public int status() {
        return status;
    }

    /** The OpenAI error {@code type}. */
    public String type() {
        return type;
    }

    /** The OpenAI error {@code code}, or null. */
    public String code() {
        return code;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    /** When the client should retry (429/503). */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
