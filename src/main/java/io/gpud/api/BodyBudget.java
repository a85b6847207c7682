package io.gpud.api;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The request bytes all connections together may hold while bodies are read and parsed. A
 * body reserves its size before its bytes are read (a declared length at once, a chunked
 * body step by step as it grows) and gives it back once parsed; a reservation that does not
 * fit is refused, never waited for, so a flood of large bodies is answered 503 instead of
 * filling the heap.
 */
final class BodyBudget {

    private final long capacityBytes;
    private final AtomicLong heldBytes = new AtomicLong();

    BodyBudget(long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    long capacityBytes() {
        return capacityBytes;
    }

    /** Reserves {@code bytes} if they fit; false (and nothing reserved) if not. */
    boolean tryReserve(long bytes) {
        while (true) {
            long held = heldBytes.get();
            if (held + bytes > capacityBytes) {
                return false;
            }
            if (heldBytes.compareAndSet(held, held + bytes)) {
                return true;
            }
        }
    }

    /** Gives back {@code bytes} reserved before. */
    void release(long bytes) {
        heldBytes.addAndGet(-bytes);
    }

    /** Bytes reserved now. */
    long heldBytes() {
        return heldBytes.get();
    }
}
