package io.gpud.inference;

import java.time.Duration;

/**
 * The answer of {@link Engine#submit}: admitted; rejected for now, with a hint when to
 * retry; or refused for good, because the engine can never run the request as asked.
 */
public sealed interface Admission {

    /** The request is queued or running; the handle cancels it. */
    record Accepted(Generation generation) implements Admission {
    }

    /** The engine is full or closed; the client should retry after {@code retryAfter}. */
    record Rejected(String reason, Duration retryAfter) implements Admission {
    }

    /**
     * The engine can never hold this request (for instance its KV cache alone is larger than
     * the budget); {@code reason} names the numbers. Retrying will not help: a client error.
     */
    record Refused(String reason) implements Admission {
    }
}
