package io.gpud.enclave.program;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.enclave.crypto.DataKeyIdentity;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The enclave's data-key cache: hits, the three bounds, and that every key it drops is zeroed. */
class DataKeyCacheTest {

    final AtomicLong now = new AtomicLong(1_000);

    DataKeyCache cache(Duration ttl, int entries, long uses) {
        return new DataKeyCache(new DataKeyCache.Limits(ttl, entries, uses), now::get);
    }

    static byte[] key(int b) {
        byte[] k = new byte[32];
        Arrays.fill(k, (byte) b);
        return k;
    }

    static byte[] id(String session) {
        return DataKeyIdentity.of("arn:aws:kms:us-east-1:111122223333:key/k", new byte[] {1, 2, 3}, "acme", session);
    }

    static boolean zeroed(byte[] k) {
        for (byte b : k) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void aKeptKeyIsHandedOutAsACopy() {
        var c = cache(Duration.ofMinutes(1), 4, 100);
        byte[] stored = key(7);
        c.put(id("s1"), stored);
        byte[] got = c.take(id("s1"));
        assertArrayEquals(key(7), got);
        Arrays.fill(got, (byte) 0);
        assertArrayEquals(key(7), c.take(id("s1")), "zeroing the caller's copy leaves the kept key alone");
        assertNull(c.take(id("s2")));
        assertEquals(1, c.size());
    }

    @Test
    void theIdentityDependsOnKeyBlobTenantAndSession() {
        byte[] base = DataKeyIdentity.of("arn:k", new byte[] {1}, "acme", "s");
        assertFalse(Arrays.equals(base, DataKeyIdentity.of("arn:k2", new byte[] {1}, "acme", "s")));
        assertFalse(Arrays.equals(base, DataKeyIdentity.of("arn:k", new byte[] {2}, "acme", "s")));
        assertFalse(Arrays.equals(base, DataKeyIdentity.of("arn:k", new byte[] {1}, "other", "s")));
        assertFalse(Arrays.equals(base, DataKeyIdentity.of("arn:k", new byte[] {1}, "acme", "t")));
        assertArrayEquals(base, DataKeyIdentity.of("arn:k", new byte[] {1}, "acme", "s"));
    }

    @Test
    void anExpiredKeyIsZeroedAndMisses() {
        var c = cache(Duration.ofSeconds(10), 4, 100);
        byte[] stored = key(9);
        c.put(id("s1"), stored);
        now.addAndGet(Duration.ofSeconds(10).toNanos() - 1);
        assertArrayEquals(key(9), c.take(id("s1")));
        now.addAndGet(1);
        assertNull(c.take(id("s1")));
        assertTrue(zeroed(stored), "the expired key was zeroed");
        assertEquals(0, c.size());
    }

    @Test
    void expiredKeysAreZeroedWhenAnotherKeyArrives() {
        var c = cache(Duration.ofSeconds(10), 4, 100);
        byte[] old = key(3);
        c.put(id("old"), old);
        now.addAndGet(Duration.ofSeconds(11).toNanos());
        c.put(id("new"), key(4));
        assertTrue(zeroed(old));
        assertEquals(1, c.size());
    }

    @Test
    void theLeastRecentlyUsedKeyIsEvictedAndZeroed() {
        var c = cache(Duration.ofMinutes(1), 2, 100);
        byte[] a = key(1);
        byte[] b = key(2);
        c.put(id("a"), a);
        c.put(id("b"), b);
        c.take(id("a"));
        c.put(id("c"), key(3));
        assertTrue(zeroed(b), "b was used least recently");
        assertFalse(zeroed(a));
        assertNull(c.take(id("b")));
        assertArrayEquals(key(1), c.take(id("a")));
        assertEquals(2, c.size());
    }

    @Test
    void aKeyOpensAtMostMaxUsesRequests() {
        var c = cache(Duration.ofMinutes(1), 4, 3);
        byte[] stored = key(5);
        c.put(id("s"), stored);
        assertArrayEquals(key(5), c.take(id("s")));
        assertArrayEquals(key(5), c.take(id("s")));
        assertTrue(zeroed(stored), "the third use (the put was the first) removed and zeroed it");
        assertNull(c.take(id("s")));
    }

    @Test
    void replacingAnEntryZeroesTheOldKey() {
        var c = cache(Duration.ofMinutes(1), 4, 100);
        byte[] first = key(1);
        c.put(id("s"), first);
        c.put(id("s"), key(2));
        assertTrue(zeroed(first));
        assertArrayEquals(key(2), c.take(id("s")));
    }

    @Test
    void noEntriesMeansNothingIsKept() {
        var c = cache(Duration.ofMinutes(1), 0, 100);
        byte[] stored = key(8);
        c.put(id("s"), stored);
        assertTrue(zeroed(stored));
        assertNull(c.take(id("s")));
    }

    @Test
    void clearZeroesEveryKey() {
        var c = cache(Duration.ofMinutes(1), 4, 100);
        byte[] a = key(1);
        byte[] b = key(2);
        c.put(id("a"), a);
        c.put(id("b"), b);
        c.clear();
        assertTrue(zeroed(a) && zeroed(b));
        assertEquals(0, c.size());
    }

    @Test
    void limitsAreChecked() {
        var e = assertThrows(IllegalArgumentException.class, () -> new DataKeyCache.Limits(Duration.ZERO, 1, 1));
        assertTrue(e.getMessage().contains("ttl was PT0S"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DataKeyCache.Limits(Duration.ofHours(2), 1, 1));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new DataKeyCache.Limits(Duration.ofMinutes(1), -1, 1))
                .getMessage().contains("maxEntries was -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new DataKeyCache.Limits(Duration.ofMinutes(1), 1, 0))
                .getMessage().contains("maxUses was 0"));
    }
}
