package io.gpud.inference;

import java.time.Duration;

/** The answer of {@link Engine#submit}: admitted, or refused with a hint when to retry. */
public sealed interface Admission {

    /** The request is queued or running; the handle cancels it. */
    record Accepted(Generation generation) implements Admission {
    }

    /** The engine is full or closed; the client should retry after {@code retryAfter}. */
    record Rejected(String reason, Duration retryAfter) implements Admission {
    }
}
