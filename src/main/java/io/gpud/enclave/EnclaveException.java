package io.gpud.enclave;

import io.gpud.core.GpudException;

/**
 * The secure envelope's machinery failed unexpectedly: the enclave or KMS cannot be
 * reached, the child enclave process does not start, the audit log cannot be written.
 * Refusals of a tenant's envelope are values ({@link SecureGateway.Opening}), not this.
 */
public final class EnclaveException extends GpudException {
    public EnclaveException(String message) {
        super(message);
    }

    public EnclaveException(String message, Throwable cause) {
        super(message, cause);
    }
}
