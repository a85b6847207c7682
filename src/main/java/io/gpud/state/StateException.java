package io.gpud.state;

import io.gpud.core.GpudException;

/**
 * An unexpected failure of the state store (DynamoDB unreachable, throttled past retries,
 * a malformed item), with the SDK's exception as the cause. A lost conditional write is
 * not a failure: it is a value ({@link LeaseWrite.Lost}, {@code Fenced}).
 */
public class StateException extends GpudException {
    public StateException(String message) {
        super(message);
    }

    public StateException(String message, Throwable cause) {
        super(message, cause);
    }
}
