package io.gpud.enclave.protocol;

import io.gpud.core.GpudException;

/**
 * A frame or CBOR item that breaks the protocol: over a cap, truncated, malformed, of the
 * wrong type. The message says what and where; it never carries payload bytes.
 */
public final class ProtocolException extends GpudException {
    public ProtocolException(String message) {
        super(message);
    }

    public ProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
