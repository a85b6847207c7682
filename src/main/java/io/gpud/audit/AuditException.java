package io.gpud.audit;

import io.gpud.core.GpudException;

/** The audit log could not be opened or written; the operation it records must not proceed. */
public final class AuditException extends GpudException {
    public AuditException(String message, Throwable cause) {
        super(message, cause);
    }
}
