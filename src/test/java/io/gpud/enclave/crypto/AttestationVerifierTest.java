package io.gpud.enclave.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.enclave.protocol.Cbor;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One test per adversarial row of attestation verification, and the public Nitro sample. */
class AttestationVerifierTest {

    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final byte[] PCR0 = filled(0x5a);
    static final byte[] NONCE = filled(0x11);
    static final byte[] PUBLIC_KEY = {1, 2, 3};

    static TestPki pki;
    static AttestationVerifier verifier;
    static PcrPolicy policy;

    @BeforeAll
    static void pki() {
        pki = TestPki.generate(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));
        verifier = new AttestationVerifier(pki.root(), Duration.ofMinutes(5));
        policy = new PcrPolicy(Set.of(HexFormat.of().formatHex(PCR0)), Set.of());
    }

    static byte[] filled(int b) {
        byte[] x = new byte[48];
        Arrays.fill(x, (byte) b);
        return x;
    }

    static byte[] document(TestPki signer, Instant at, byte[] pcr0, byte[] nonce) {
        return new LocalAttestor(signer, Map.of(0, pcr0, 8, new byte[48]), Clock.fixed(at, ZoneOffset.UTC))
                .attest(PUBLIC_KEY, nonce);
    }

    static byte[] good() {
        return document(pki, NOW.minusSeconds(2), PCR0, NONCE);
    }

    static String rejected(byte[] doc) {
        return assertInstanceOf(AttestationVerifier.Rejected.class, verifier.verify(doc, NOW, NONCE)).reason();
    }

    /** The COSE array of a document, to rebuild it with one part changed. */
    static List<Object> parts(byte[] doc) {
        return new ArrayList<>((List<?>) ((Cbor.Tagged) Cbor.decode(doc)).value());
    }

    static byte[] rebuild(List<Object> parts) {
        return Cbor.encode(new Cbor.Tagged(18, parts));
    }

    @Test
    void aGoodDocumentVerifiesAndSatisfiesThePolicy() {
        var v = assertInstanceOf(AttestationVerifier.Verified.class, verifier.verify(good(), NOW, NONCE));
        assertTrue(policy.check(v.document()).isEmpty());
        assertEquals("gpud-local-enclave", v.document().moduleId());
    }

    @Test
    void tamperedPayload() {
        List<Object> p = parts(good());
        var payload = new LinkedHashMap<Object, Object>((Map<?, ?>) Cbor.decode((byte[]) p.get(2)));
        payload.put("public_key", new byte[] {9, 9, 9});
        p.set(2, Cbor.encode(payload));
        assertEquals("signature does not verify under the leaf key", rejected(rebuild(p)));
    }

    @Test
    void tamperedSignature() {
        List<Object> p = parts(good());
        byte[] sig = ((byte[]) p.get(3)).clone();
        sig[10] ^= 1;
        p.set(3, sig);
        assertEquals("signature does not verify under the leaf key", rejected(rebuild(p)));
    }

    @Test
    void tamperedProtectedHeader() {
        List<Object> p = parts(good());
        p.set(0, Cbor.encode(Map.of(1L, -7L)));   // ES256
        assertEquals("protected header is not exactly {alg: ES384}", rejected(rebuild(p)));
        p.set(0, Cbor.encode(Map.of(1L, -35L, 4L, new byte[] {1})));   // extra header under the same signature
        assertEquals("protected header is not exactly {alg: ES384}", rejected(rebuild(p)));
    }

    @Test
    void chainToTheWrongRoot() {
        TestPki other = TestPki.generate(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));
        assertEquals("chain does not start at the pinned root", rejected(document(other, NOW, PCR0, NONCE)));
    }

    @Test
    void leafSignedByAnotherKeyUnderTheRightRootName() {
        TestPki impostor = TestPki.generate(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));
        var forged = new TestPki(pki.root(), null, impostor.leaf(), impostor.leafKey());
        assertTrue(rejected(document(forged, NOW, PCR0, NONCE)).contains("is not signed by its issuer"));
    }

    @Test
    void expiredLeaf() {
        TestPki expired = pki.withLeaf(NOW.minus(Duration.ofHours(5)), NOW.minus(Duration.ofHours(2)));
        assertEquals("leaf is not valid at " + NOW, rejected(document(expired, NOW, PCR0, NONCE)));
    }

    /** The verifier remembers chains whose signatures held; that must not stand in for the other checks. */
    @Test
    void aRememberedChainIsStillCheckedForValidityAndVouchesForNoOtherLeaf() {
        var remembering = new AttestationVerifier(pki.root(), Duration.ofMinutes(5));
        assertInstanceOf(AttestationVerifier.Verified.class, remembering.verify(good(), NOW, NONCE));
        Instant pastTheLeaf = pki.leaf().getNotAfter().toInstant().plusSeconds(1);
        assertEquals("leaf is not valid at " + pastTheLeaf, assertInstanceOf(AttestationVerifier.Rejected.class,
                remembering.verify(document(pki, pastTheLeaf, PCR0, NONCE), pastTheLeaf, NONCE)).reason());
        TestPki impostor = TestPki.generate(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));
        var forged = new TestPki(pki.root(), null, impostor.leaf(), impostor.leafKey());
        assertTrue(assertInstanceOf(AttestationVerifier.Rejected.class,
                remembering.verify(document(forged, NOW, PCR0, NONCE), NOW, NONCE)).reason()
                .contains("is not signed by its issuer"));
        assertInstanceOf(AttestationVerifier.Verified.class, remembering.verify(good(), NOW, NONCE));
    }

    @Test
    void staleTimestamp() {
        assertTrue(rejected(document(pki, NOW.minus(Duration.ofMinutes(6)), PCR0, NONCE)).contains("is older than PT5M"));
        assertTrue(rejected(document(pki, NOW.plus(Duration.ofMinutes(2)), PCR0, NONCE)).contains("in the future"));
    }

    @Test
    void replayedNonceDoesNotMatchTheFreshOne() {
        byte[] old = document(pki, NOW, PCR0, filled(0x22));
        assertEquals("nonce does not match the one asked for", rejected(old));
    }

    @Test
    void nullNonceIsAcceptedAsAbsentOnlyWhenNoneWasAskedFor() {
        byte[] doc = document(pki, NOW, PCR0, null);
        var v = assertInstanceOf(AttestationVerifier.Verified.class, verifier.verify(doc, NOW, null));
        assertEquals(null, v.document().nonce());
        assertEquals("nonce does not match the one asked for", rejected(doc));
    }

    @Test
    void wrongPcr0AndAllZeroDebugPcrsAreRefusedByThePolicy() {
        var wrong = assertInstanceOf(AttestationVerifier.Verified.class,
                verifier.verify(document(pki, NOW, filled(0x33), NONCE), NOW, NONCE));
        assertEquals("PCR0 is not in the allow-list", policy.check(wrong.document()).orElseThrow());
        var debug = assertInstanceOf(AttestationVerifier.Verified.class,
                verifier.verify(document(pki, NOW, new byte[48], NONCE), NOW, NONCE));
        assertEquals("PCR0 is all zero: a debug-mode enclave", policy.check(debug.document()).orElseThrow());
        var zeroAllowed = new PcrPolicy(Set.of("0".repeat(96)), Set.of());
        assertTrue(zeroAllowed.check(debug.document()).isPresent(), "debug mode is refused even when listed");
    }

    @Test
    void garbageIsRejectedNotThrown() {
        assertTrue(rejected(new byte[] {(byte) 0x84, 0x40}).startsWith("malformed"));
        assertTrue(rejected(Arrays.copyOf(good(), 100)).startsWith("malformed"));
    }

    @Test
    void theAwsRootIsPinnedByItsPublishedFingerprint() throws Exception {
        var root = AttestationVerifier.awsNitroRoot();
        assertEquals("CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US", root.getSubjectX500Principal().getName());
        assertEquals(AttestationVerifier.AWS_NITRO_ROOT_SHA256, HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(root.getEncoded())));
    }

    /** A real document from a Nitro Enclave (see src/test/resources/nitro/README.md). */
    @Test
    void aRealNitroDocumentVerifiesAtItsOwnTimestampAndIsRefusedAsDebugMode() throws IOException {
        byte[] doc;
        try (InputStream in = getClass().getResourceAsStream("/nitro/sample-attestation.b64")) {
            doc = Base64.getMimeDecoder().decode(in.readAllBytes());
        }
        var aws = new AttestationVerifier(AttestationVerifier.awsNitroRoot(), Duration.ofMinutes(5));
        Instant at = Instant.ofEpochMilli(1725597192729L);
        var v = assertInstanceOf(AttestationVerifier.Verified.class, aws.verify(doc, at, null));
        assertEquals(at, v.document().timestamp());
        assertEquals("i-0bbf1bfe232b8c2ce-enc0191ba35c9d1b77a", v.document().moduleId());
        assertEquals(4, v.document().cabundle().size());
        assertEquals("PCR0 is all zero: a debug-mode enclave",
                new PcrPolicy(Set.of(HexFormat.of().formatHex(filled(1))), Set.of()).check(v.document()).orElseThrow());
        assertTrue(assertInstanceOf(AttestationVerifier.Rejected.class, aws.verify(doc, NOW, null)).reason()
                .contains("is not valid at"), "the same document today: its certificates have expired");
        assertEquals("chain does not start at the pinned root",
                assertInstanceOf(AttestationVerifier.Rejected.class, verifier.verify(doc, at, null)).reason());
        List<Object> p = new ArrayList<>((List<?>) Cbor.decode(doc));
        byte[] sig = ((byte[]) p.get(3)).clone();
        sig[0] ^= 1;
        p.set(3, sig);
        assertEquals("signature does not verify under the leaf key", assertInstanceOf(
                AttestationVerifier.Rejected.class, aws.verify(Cbor.encode(p), at, null)).reason());
    }
}
