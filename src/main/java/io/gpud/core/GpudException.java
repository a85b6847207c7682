package io.gpud.core;

/**
 * Base of the unexpected failures of gpud. Each subsystem has one documented subclass
 * that wraps third-party exceptions at its package boundary and keeps the cause.
 * Outcomes a caller must expect are values, not exceptions.
 */
public class GpudException extends RuntimeException {
    public GpudException(String message) {
        super(message);
    }

    public GpudException(String message, Throwable cause) {
        super(message, cause);
    }
}
