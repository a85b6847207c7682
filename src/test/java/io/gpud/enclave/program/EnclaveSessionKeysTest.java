package io.gpud.enclave.program;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.gpud.enclave.crypto.AttestationVerifier;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.LocalAttestor;
import io.gpud.enclave.crypto.PayloadCipher;
import io.gpud.enclave.crypto.RecipientCms;
import io.gpud.enclave.crypto.TestPki;
import io.gpud.enclave.protocol.EnclaveMessage;
import io.gpud.enclave.protocol.EnvelopeAad;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The enclave with its data-key cache, driven frame by frame as a (possibly hostile) parent
 * would: the first request of a session brings the CMS blob, later ones none; every
 * cached-key request is still checked (replay, AAD, tag) and nothing is burned on a miss.
 */
class EnclaveSessionKeysTest {

    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/acme";
    static final AtomicInteger IDS = new AtomicInteger();

    static EnclaveService service;
    static PublicKey enclaveKey;
    static byte[] dataKey;
    static byte[] encryptedDataKey;

    @BeforeAll
    static void boot() throws Exception {
        TestPki pki = TestPki.generate(Instant.now(), Duration.ofHours(1));
        service = new EnclaveService(new LocalAttestor(pki, Map.of(0, new byte[48]), Clock.systemUTC()),
                new DataKeyCache(DataKeyCache.Limits.defaults(), System::nanoTime));
        enclaveKey = attestedKey(service, pki);
        dataKey = new byte[PayloadCipher.KEY_BYTES];
        Fips.random().nextBytes(dataKey);
        encryptedDataKey = new byte[64];
        Fips.random().nextBytes(encryptedDataKey);
    }

    /** The RSA key {@code enclave} unwraps with, from an attestation document it made and that verified. */
    static PublicKey attestedKey(EnclaveService enclave, TestPki pki) throws Exception {
        byte[] nonce = new byte[32];
        Fips.random().nextBytes(nonce);
        var doc = assertInstanceOf(EnclaveMessage.AttestReply.class, EnclaveMessage.decode(
                enclave.handle(EnclaveMessage.encode(new EnclaveMessage.AttestRequest(nonce)))));
        var verified = assertInstanceOf(AttestationVerifier.Verified.class,
                new AttestationVerifier(pki.root(), Duration.ofMinutes(5)).verify(doc.document(), Instant.now(), nonce));
        return KeyFactory.getInstance("RSA", Fips.provider())
                .generatePublic(new X509EncodedKeySpec(verified.document().publicKey()));
    }

    static EnclaveMessage answer(EnclaveMessage m) {
        return EnclaveMessage.decode(service.handle(EnclaveMessage.encode(m)));
    }

    static String newId() {
        return "req-" + IDS.incrementAndGet();
    }

    /** A request of session {@code session} sealed by the tenant, sent with or without the CMS blob. */
    EnclaveMessage.OpenRequest request(String tenant, String session, String id, byte[] body, boolean withCms) {
        var aad = new EnvelopeAad(tenant, KEY, session, id, "gpud-demo", "request").toBytes();
        var sealed = PayloadCipher.seal(dataKey, body, aad, Fips.random());
        byte[] cms = withCms ? RecipientCms.envelope(dataKey, enclaveKey, new byte[20]) : new byte[0];
        return new EnclaveMessage.OpenRequest(id, KEY, encryptedDataKey, cms, sealed.iv(), sealed.ciphertext(), aad);
    }

    EnclaveMessage.OpenRequest request(String session, boolean withCms) {
        return request("acme", session, newId(), "{\"n\":1}".getBytes(), withCms);
    }

    void startSession(String session) {
        assertInstanceOf(EnclaveMessage.OpenReply.class, answer(request(session, true)));
    }

    @Test
    void aSessionsLaterRequestsOpenWithoutKms() {
        startSession("s1");
        int cached = service.cachedKeys();
        int open = service.openCount();
        var r = request("acme", "s1", newId(), "{\"second\":true}".getBytes(), false);
        var opened = assertInstanceOf(EnclaveMessage.OpenReply.class, answer(r));
        assertArrayEquals("{\"second\":true}".getBytes(), opened.plaintext());
        var sealed = assertInstanceOf(EnclaveMessage.SealReply.class,
                answer(new EnclaveMessage.SealRequest(r.requestId(), "out".getBytes())));
        assertArrayEquals("out".getBytes(), PayloadCipher.open(dataKey, sealed.iv(), sealed.ciphertext(), sealed.aad()));
        assertEquals(open, service.openCount(), "the request's own copy of the key was zeroed and dropped at sealing");
        assertEquals(cached, service.cachedKeys(), "the session's key stays for its next request");
    }

    @Test
    void aMissBurnsNothingSoTheKmsPathCanFollow() {
        var r = request("s-new", false);
        assertEquals(new EnclaveMessage.Refusal("uncached"), answer(r));
        var withCms = new EnclaveMessage.OpenRequest(r.requestId(), r.keyArn(), r.encryptedDataKey(),
                RecipientCms.envelope(dataKey, enclaveKey, new byte[20]), r.iv(), r.ciphertext(), r.aad());
        assertInstanceOf(EnclaveMessage.OpenReply.class, answer(withCms));
    }

    @Test
    void aReplayedRequestIdIsRefusedEvenWithACachedKey() {
        startSession("s2");
        var r = request("s2", false);
        assertInstanceOf(EnclaveMessage.OpenReply.class, answer(r));
        answer(new EnclaveMessage.Abort(r.requestId()));
        assertEquals(new EnclaveMessage.Refusal("replay"), answer(r));
    }

    @Test
    void aCachedKeyStillVerifiesTheAad() {
        startSession("s3");
        var r = request("s3", false);
        var otherModel = new EnvelopeAad("acme", KEY, "s3", r.requestId(), "another-model", "request").toBytes();
        assertEquals(new EnclaveMessage.Refusal("decrypt"), answer(new EnclaveMessage.OpenRequest(r.requestId(), KEY,
                encryptedDataKey, new byte[0], r.iv(), r.ciphertext(), otherModel)));
        var s = request("s3", false);
        var mismatchedId = new EnclaveMessage.OpenRequest(newId(), KEY, encryptedDataKey, new byte[0], s.iv(),
                s.ciphertext(), s.aad());
        assertEquals(new EnclaveMessage.Refusal("aad"), answer(mismatchedId), "the frame's id must be the AAD's");
    }

    @Test
    void aTamperedCiphertextUnderACachedKeyIsRefusedAndTheSessionGoesOn() {
        startSession("s4");
        var r = request("s4", false);
        byte[] ct = r.ciphertext().clone();
        ct[0] ^= 1;
        assertEquals(new EnclaveMessage.Refusal("decrypt"), answer(new EnclaveMessage.OpenRequest(r.requestId(), KEY,
                encryptedDataKey, new byte[0], r.iv(), ct, r.aad())));
        var t = request("s4", false);
        assertEquals(new EnclaveMessage.Refusal("decrypt"), answer(new EnclaveMessage.OpenRequest(t.requestId(), KEY,
                encryptedDataKey, new byte[0], t.iv(), Arrays.copyOf(t.ciphertext(), t.ciphertext().length - 1), t.aad())));
        assertInstanceOf(EnclaveMessage.OpenReply.class, answer(request("s4", false)));
    }

    @Test
    void anotherTenantOrSessionOrBlobDoesNotFindTheKey() {
        startSession("s5");
        assertEquals(new EnclaveMessage.Refusal("uncached"),
                answer(request("mallory", "s5", newId(), "{}".getBytes(), false)));
        assertEquals(new EnclaveMessage.Refusal("uncached"), answer(request("s6", false)));
        var r = request("s5", false);
        byte[] otherBlob = encryptedDataKey.clone();
        otherBlob[0] ^= 1;
        assertEquals(new EnclaveMessage.Refusal("uncached"), answer(new EnclaveMessage.OpenRequest(r.requestId(), KEY,
                otherBlob, new byte[0], r.iv(), r.ciphertext(), r.aad())));
    }

    @Test
    void aKeyThatOpensNothingIsNotKept() {
        var r = request("s7", true);
        byte[] ct = r.ciphertext().clone();
        ct[ct.length - 1] ^= 1;
        assertEquals(new EnclaveMessage.Refusal("decrypt"), answer(new EnclaveMessage.OpenRequest(r.requestId(), KEY,
                encryptedDataKey, r.cms(), r.iv(), ct, r.aad())));
        assertEquals(new EnclaveMessage.Refusal("uncached"), answer(request("s7", false)));
    }

    @Test
    void shutdownForgetsEveryKey() {
        startSession("s8");
        assertInstanceOf(EnclaveMessage.OpenReply.class, answer(request("s8", false)));
        service.forgetKeys();
        assertEquals(0, service.cachedKeys());
        assertEquals(0, service.openCount());
    }
}
