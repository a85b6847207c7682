package io.gpud.api;

import java.net.InetAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap all requests together may hold for their bodies: the bytes while a body is read
 * (reserved step by step as they arrive, never on a declared length alone) and, once read,
 * what parsing it costs (see {@link JsonBodies}), until the request is answered. One client
 * address may hold at most {@code perClientBytes} of it, so idle connections of one client
 * cannot take what every other client needs. A reservation that does not fit is refused,
 * never waited for, so a flood of large bodies is answered 503 instead of filling the heap.
 */
final class BodyBudget {

    /** Why a reservation was refused. */
    enum Refusal { NODE_FULL, CLIENT_FULL }

    private final long capacityBytes;
    private final long perClientBytes;
    private final AtomicLong heldBytes = new AtomicLong();
    private final Map<InetAddress, Long> heldByClient = new ConcurrentHashMap<>();

    BodyBudget(long capacityBytes, long perClientBytes) {
        this.capacityBytes = capacityBytes;
        this.perClientBytes = Math.min(capacityBytes, perClientBytes);
    }

    long capacityBytes() {
        return capacityBytes;
    }

    long perClientBytes() {
        return perClientBytes;
    }

    /**
     * Reserves {@code bytes} for {@code client} (null: an address unknown, counted only in the
     * total) if they fit both the total and the client's share; null when reserved, else why
     * not (and nothing reserved).
     */
    Refusal tryReserve(InetAddress client, long bytes) {
        while (true) {
            long held = heldBytes.get();
            if (held + bytes > capacityBytes) {
                return Refusal.NODE_FULL;
            }
            if (heldBytes.compareAndSet(held, held + bytes)) {
                break;
            }
        }
        if (client == null) {
            return null;
        }
        var refused = new boolean[1];
        heldByClient.compute(client, (c, held) -> {
            long now = held == null ? 0 : held;
            refused[0] = now + bytes > perClientBytes;
            return refused[0] ? held : Long.valueOf(now + bytes);
        });
        if (refused[0]) {
            heldBytes.addAndGet(-bytes);
            return Refusal.CLIENT_FULL;
        }
        return null;
    }

    /** Gives back {@code bytes} reserved before for {@code client}. */
    void release(InetAddress client, long bytes) {
        heldBytes.addAndGet(-bytes);
        if (client != null && bytes > 0) {
            heldByClient.computeIfPresent(client, (c, held) -> held - bytes <= 0 ? null : held - bytes);
        }
    }

    /** Bytes reserved now. */
    long heldBytes() {
        return heldBytes.get();
    }

    /** Bytes {@code client} holds now. */
    long heldBy(InetAddress client) {
        return heldByClient.getOrDefault(client, 0L);
    }
}
