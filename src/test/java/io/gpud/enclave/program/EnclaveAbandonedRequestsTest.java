package io.gpud.enclave.program;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.LocalAttestor;
import io.gpud.enclave.crypto.PayloadCipher;
import io.gpud.enclave.crypto.RecipientCms;
import io.gpud.enclave.crypto.TestPki;
import io.gpud.enclave.protocol.EnclaveMessage;
import io.gpud.enclave.protocol.EnvelopeAad;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Requests the parent opened and never sealed or aborted (it restarted, or its call timed
 * out): the enclave holds at most {@link EnclaveService#MAX_OPEN}, and when full drops those
 * open longer than {@link EnclaveService#OPEN_TTL_NANOS} instead of refusing every new
 * request for ever.
 */
class EnclaveAbandonedRequestsTest {

    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/acme";

    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final EnclaveService service;
    final PublicKey enclaveKey;
    final byte[] dataKey = new byte[PayloadCipher.KEY_BYTES];
    final byte[] encryptedDataKey = new byte[64];
    int ids;

    EnclaveAbandonedRequestsTest() throws Exception {
        TestPki pki = TestPki.generate(Instant.now(), Duration.ofHours(1));
        service = new EnclaveService(new LocalAttestor(pki, Map.of(0, new byte[48]), Clock.systemUTC()),
                new DataKeyCache(new DataKeyCache.Limits(Duration.ofHours(1), 16, 100_000), now::get), now::get);
        enclaveKey = EnclaveSessionKeysTest.attestedKey(service, pki);
        Fips.random().nextBytes(dataKey);
        Fips.random().nextBytes(encryptedDataKey);
    }

    EnclaveMessage answer(EnclaveMessage m) {
        return EnclaveMessage.decode(service.handle(EnclaveMessage.encode(m)));
    }

    /** Opens one more request of the session (the first brings the CMS blob); returns its reply. */
    EnclaveMessage open() {
        String id = "req-" + ++ids;
        var aad = new EnvelopeAad("acme", KEY, "s", id, "gpud-demo", "request").toBytes();
        var sealed = PayloadCipher.seal(dataKey, "{}".getBytes(), aad, Fips.random());
        byte[] cms = ids == 1 ? RecipientCms.envelope(dataKey, enclaveKey, new byte[20]) : new byte[0];
        return answer(new EnclaveMessage.OpenRequest(id, KEY, encryptedDataKey, cms, sealed.iv(), sealed.ciphertext(),
                aad));
    }

    @Test
    void whenFullTheRequestsOpenTooLongAreDroppedAndNoOthers() {
        for (int i = 0; i < EnclaveService.MAX_OPEN / 2; i++) {
            assertInstanceOf(EnclaveMessage.OpenReply.class, open());
        }
        long halfway = Duration.ofMinutes(20).toNanos();
        now.addAndGet(halfway);
        for (int i = EnclaveService.MAX_OPEN / 2; i < EnclaveService.MAX_OPEN; i++) {
            assertInstanceOf(EnclaveMessage.OpenReply.class, open());
        }
        assertEquals(EnclaveService.MAX_OPEN, service.openCount());
        assertEquals(new EnclaveMessage.Refusal("busy"), open(), "full, and none is old enough to drop");

        // 31 minutes after the first half opened (11 after the second): only the first half goes.
        now.addAndGet(Duration.ofMinutes(11).toNanos());
        assertInstanceOf(EnclaveMessage.OpenReply.class, open());
        assertEquals(EnclaveService.MAX_OPEN / 2 + 1, service.openCount());
        var stillHeld = new EnclaveMessage.SealRequest("req-" + (EnclaveService.MAX_OPEN / 2 + 1), "out".getBytes());
        assertInstanceOf(EnclaveMessage.SealReply.class, answer(stillHeld), "a newer request is still open");
        assertEquals(new EnclaveMessage.Refusal("unknown-request"),
                answer(new EnclaveMessage.SealRequest("req-1", "out".getBytes())), "an abandoned one was dropped");
    }
}
