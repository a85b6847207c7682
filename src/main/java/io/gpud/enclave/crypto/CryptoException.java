package io.gpud.enclave.crypto;

import io.gpud.core.GpudException;

/**
 * A cryptographic operation refused its input (bad tag, wrong algorithm, malformed CMS) or
 * failed unexpectedly. Messages name the check, never key or payload bytes.
 */
public final class CryptoException extends GpudException {
    public CryptoException(String message) {
        super(message);
    }

    public CryptoException(String message, Throwable cause) {
        super(message, cause);
    }
}
