package io.gpud.enclave.program;

import io.gpud.enclave.crypto.PayloadCipher;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Tenant data keys the enclave has unwrapped, kept (inside the enclave only) so that later
 * requests of the same data-key session skip KMS {@code Decrypt} and the RSA unwrap.
 *
 * <p>An entry is named by the SHA-256 of (key ARN, the KMS-encrypted data key, tenant,
 * session): exactly what KMS's answer depended on, so a request that names another key,
 * blob, tenant or session misses and goes to KMS, which checks it. A key enters the cache
 * only after it opened a request whose AAD names that tenant and session, i.e. after the
 * tag proved the sender holds the key.
 *
 * <p>Exposure is bounded three ways ({@link Limits}): an entry lives at most {@code ttl}
 * after its unwrap, opens at most {@code maxUses} requests, and at most {@code maxEntries}
 * are kept (the least recently used goes first). Whatever removes an entry zeroes its key.
 * {@link #take} hands out a copy, which the caller zeroes after use.
 */
final class DataKeyCache {

    /**
     * @param ttl        longest an unwrapped key is kept after its KMS {@code Decrypt}
     * @param maxEntries keys kept at most; 0 keeps none (every request goes to KMS)
     * @param maxUses    requests one KMS {@code Decrypt} may open at most
     */
    record Limits(Duration ttl, int maxEntries, long maxUses) {
        Limits {
            if (ttl == null || ttl.isNegative() || ttl.isZero() || ttl.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("key cache ttl was " + ttl + ", must be in (0, 1h]");
            }
            if (maxEntries < 0 || maxEntries > 1 << 16) {
                throw new IllegalArgumentException("key cache maxEntries was " + maxEntries + ", must be in [0, 65536]");
            }
            if (maxUses < 1) {
                throw new IllegalArgumentException("key cache maxUses was " + maxUses + ", must be positive");
            }
        }

        /** Five minutes, 1024 keys, 10,000 requests per KMS {@code Decrypt}. */
        static Limits defaults() {
            return new Limits(Duration.ofMinutes(5), 1024, 10_000);
        }
    }

    private static final class Entry {
        final byte[] key;
        final long expiresAtNanos;
        long usesLeft;

        Entry(byte[] key, long expiresAtNanos, long usesLeft) {
            this.key = key;
            this.expiresAtNanos = expiresAtNanos;
            this.usesLeft = usesLeft;
        }
    }

    private final Limits limits;
    private final LongSupplier nanoTime;
    private final LinkedHashMap<ByteBuffer, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);

    /** @param nanoTime a monotonic clock ({@code System::nanoTime}) */
    DataKeyCache(Limits limits, LongSupplier nanoTime) {
        this.limits = limits;
        this.nanoTime = nanoTime;
    }

    /** A copy of the key named {@code identity}, counting one use; null when none is kept (or it expired). */
    synchronized byte[] take(byte[] identity) {
        ByteBuffer name = ByteBuffer.wrap(identity);
        Entry e = entries.get(name);
        if (e == null) {
            return null;
        }
        if (nanoTime.getAsLong() - e.expiresAtNanos >= 0) {
            remove(name);
            return null;
        }
        byte[] copy = e.key.clone();
        if (--e.usesLeft == 0) {
            remove(name);
        }
        return copy;
    }

    /**
     * Keeps {@code key} (the cache owns the array from now on and zeroes it when the entry
     * goes) under {@code identity}; counts as the key's first use. Replaces an entry of the
     * same name.
     */
    synchronized void put(byte[] identity, byte[] key) {
        if (limits.maxEntries() == 0 || limits.maxUses() == 1) {
            PayloadCipher.zero(key);
            return;
        }
        long now = nanoTime.getAsLong();
        evictExpired(now);
        ByteBuffer name = ByteBuffer.wrap(identity.clone());
        remove(name);
        while (entries.size() >= limits.maxEntries()) {
            remove(entries.firstEntry().getKey());
        }
        entries.put(name, new Entry(key, now + limits.ttl().toNanos(), limits.maxUses() - 1));
    }

    /** Keys kept right now. */
    synchronized int size() {
        return entries.size();
    }

    /** Zeroes and drops every key. */
    synchronized void clear() {
        entries.values().forEach(e -> PayloadCipher.zero(e.key));
        entries.clear();
    }

    private void evictExpired(long now) {
        for (Iterator<Map.Entry<ByteBuffer, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Entry e = it.next().getValue();
            if (now - e.expiresAtNanos >= 0) {
                PayloadCipher.zero(e.key);
                it.remove();
            }
        }
    }

    private void remove(ByteBuffer name) {
        Entry e = entries.remove(name);
        if (e != null) {
            PayloadCipher.zero(e.key);
        }
    }
}
