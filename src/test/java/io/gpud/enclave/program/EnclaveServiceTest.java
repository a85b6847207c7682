package io.gpud.enclave.program;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.gpud.enclave.crypto.LocalAttestor;
import io.gpud.enclave.crypto.TestPki;
import io.gpud.enclave.protocol.EnclaveMessage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The enclave's answers to frames a hostile parent could send. */
class EnclaveServiceTest {

    static EnclaveService service;

    @BeforeAll
    static void boot() {
        TestPki pki = TestPki.generate(Instant.now(), Duration.ofHours(1));
        service = new EnclaveService(new LocalAttestor(pki, Map.of(0, new byte[48]), Clock.systemUTC()),
                new DataKeyCache(DataKeyCache.Limits.defaults(), System::nanoTime));
    }

    static EnclaveMessage answer(EnclaveMessage m) {
        return EnclaveMessage.decode(service.handle(EnclaveMessage.encode(m)));
    }

    @Test
    void malformedFramesAreRefusedNotThrown() {
        assertEquals(new EnclaveMessage.Refusal("malformed"),
                EnclaveMessage.decode(service.handle(new byte[] {(byte) 0x9f, 0x01})));
        assertEquals(new EnclaveMessage.Refusal("malformed"),
                EnclaveMessage.decode(service.handle(new byte[] {(byte) 0xa1, 0x62, 'o', 'p', 0x63, 'z', 'z', 'z'})));
    }

    @Test
    void nonceMustBeSixteenToSixtyFourBytes() {
        assertEquals(new EnclaveMessage.Refusal("malformed"), answer(new EnclaveMessage.AttestRequest(new byte[8])));
        assertInstanceOf(EnclaveMessage.AttestReply.class, answer(new EnclaveMessage.AttestRequest(new byte[32])));
    }

    @Test
    void sealingARequestThatWasNeverOpenedIsRefused() {
        assertEquals(new EnclaveMessage.Refusal("unknown-request"),
                answer(new EnclaveMessage.SealRequest("never-opened", new byte[] {1})));
    }

    @Test
    void unparseableAadIsRefusedBeforeTheIdIsBurned() {
        var open = new EnclaveMessage.OpenRequest("r-1", "arn", new byte[] {2}, new byte[] {1}, new byte[12], new byte[16], new byte[] {1});
        assertEquals(new EnclaveMessage.Refusal("aad"), answer(open));
    }

    @Test
    void repliesAreNeverAcceptedAsRequests() {
        assertEquals(new EnclaveMessage.Refusal("unexpected"), answer(new EnclaveMessage.OpenReply(new byte[] {1})));
    }
}
