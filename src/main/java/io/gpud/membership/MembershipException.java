package io.gpud.membership;

import io.gpud.core.GpudException;

/**
 * An unexpected failure of the membership subsystem: a gossip port that cannot be bound,
 * a keyring file that cannot be written, a missing cipher. Bad packets are never
 * exceptions; they are counted and dropped.
 */
public final class MembershipException extends GpudException {
    public MembershipException(String message) {
        super(message);
    }

    public MembershipException(String message, Throwable cause) {
        super(message, cause);
    }
}
