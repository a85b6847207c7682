package io.gpud.enclave;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.audit.AuditLog;
import io.gpud.enclave.crypto.AttestationVerifier;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.LocalAttestor;
import io.gpud.enclave.crypto.PayloadCipher;
import io.gpud.enclave.crypto.PcrPolicy;
import io.gpud.enclave.crypto.TestPki;
import io.gpud.enclave.program.EnclaveServer;
import io.gpud.enclave.protocol.Cbor;
import io.gpud.enclave.protocol.EnclaveMessage;
import io.gpud.enclave.protocol.EnvelopeAad;
import io.gpud.enclave.protocol.FrameChannel;
import io.gpud.enclave.protocol.Frames;
import io.gpud.enclave.protocol.StreamFrameChannel;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The secure envelope end to end below HTTP: the real enclave program (in process, on a
 * Unix socket), the local KMS through the real AWS SDK, the real CBOR/COSE/CMS code. Every
 * frame crossing the parent is recorded, so the test can show the data key never does.
 */
class SecureGatewayTest {

    static final String KEY_A = "arn:aws:kms:us-east-1:111122223333:key/tenant-a";
    static final String KEY_B = "arn:aws:kms:us-east-1:111122223333:key/tenant-b";
    static final byte[] PCR0 = filled(0x5a);
    static final Clock CLOCK = Clock.systemUTC();

    @TempDir
    static Path dir;
    static TestPki pki;
    static PcrPolicy policy;
    static EnclaveServer enclave;
    static LocalKms localKms;
    static KmsKeys kms;
    static AuditLog audit;
    static RecordingFrameChannel channel;
    static SecureGateway gateway;
    static int nextId;

    static byte[] filled(int b) {
        byte[] x = new byte[48];
        Arrays.fill(x, (byte) b);
        return x;
    }

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.generate(Instant.now(), Duration.ofHours(1));
        policy = new PcrPolicy(Set.of(HexFormat.of().formatHex(PCR0)), Set.of());
        enclave = EnclaveServer.unix(dir.resolve("enclave.sock"), new LocalAttestor(pki, Map.of(0, PCR0), CLOCK));
        localKms = LocalKms.start(0, verifier(), policy, CLOCK);
        kms = new KmsKeys(localKms.endpoint(), "us-east-1", true);
        audit = AuditLog.open(dir.resolve("audit.log"), CLOCK, new MetricRegistry());
        channel = new RecordingFrameChannel(StreamFrameChannel.unix(dir.resolve("enclave.sock"), Frames.DEFAULT_MAX_BYTES));
        gateway = onDemandGateway(channel, kms, policy);
    }

    /** A gateway that asks the enclave for an attestation document on each request that needs KMS. */
    private static SecureGateway onDemandGateway(FrameChannel enclave, KmsKeys keys, PcrPolicy allowed) {
        return new SecureGateway(enclave, keys, new AttestationPool(enclave, verifier(), allowed, audit, CLOCK,
                Fips.random(), 0, Duration.ofSeconds(1)), audit);
    }

    @AfterAll
    static void stop() throws Exception {
        channel.close();
        kms.close();
        localKms.close();
        enclave.close();
        audit.close();
    }

    static AttestationVerifier verifier() {
        return new AttestationVerifier(pki.root(), Duration.ofMinutes(5));
    }

    /** A tenant's request: the envelope and the data key the tenant keeps. */
    record Sealed(SecureEnvelope envelope, EnvelopeAad aad, byte[] dataKey) {
    }

    static synchronized String requestId() {
        return "req-" + (++nextId);
    }

    /** Seals like the tenant tool, but lets a test choose what the envelope claims. */
    static Sealed seal(String kmsKey, Map<String, String> context, EnvelopeAad aad, String envelopeKey, byte[] body) {
        KmsKeys.DataKey key = kms.generateDataKey(kmsKey, context);
        var sealed = PayloadCipher.seal(key.plaintext(), body, aad.toBytes(), Fips.random());
        return new Sealed(new SecureEnvelope(envelopeKey, key.encrypted(), sealed.iv(), sealed.ciphertext(),
                aad.toBytes()), aad, key.plaintext());
    }

    static Sealed seal(String tenant, byte[] body) {
        String id = requestId();
        var aad = new EnvelopeAad(tenant, KEY_A, id, id, "gpud-demo", "request");
        return seal(KEY_A, context(tenant, id), aad, KEY_A, body);
    }

    static Map<String, String> context(String tenant, String id) {
        var c = new LinkedHashMap<String, String>();
        c.put("tenant", tenant);
        c.put("session", id);
        return c;
    }

    static boolean contains(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return true;
            }
        }
        return false;
    }

    static String lastAudit() throws Exception {
        List<String> lines = Files.readAllLines(dir.resolve("audit.log"));
        return lines.getLast();
    }

    static SecureGateway.Refused refused(SecureEnvelope e) {
        return assertInstanceOf(SecureGateway.Refused.class, gateway.open(e));
    }

    @Test
    void roundTripWhileOnlyCiphertextAndTheCmsBlobCrossTheParent() throws Exception {
        int before = channel.frames.size();
        byte[] request = "{\"model\":\"gpud-demo\",\"prompt\":\"secret prompt\"}".getBytes(StandardCharsets.UTF_8);
        Sealed s = seal("acme", request);
        var opened = assertInstanceOf(SecureGateway.Opened.class, gateway.open(s.envelope()));
        assertArrayEquals(request, opened.plaintext());
        byte[] output = "{\"choices\":[]}".getBytes(StandardCharsets.UTF_8);
        var sealed = assertInstanceOf(SecureGateway.Sealed.class, gateway.seal(opened.aad(), output));
        var aad = EnvelopeAad.parse(sealed.response().aad());
        assertEquals(s.aad().response(), aad);
        assertArrayEquals(output, PayloadCipher.open(s.dataKey(), sealed.response().iv(),
                sealed.response().ciphertext(), sealed.response().aad()));

        List<byte[]> frames = channel.frames.subList(before, channel.frames.size());
        List<String> ops = frames.stream().map(f -> (String) ((Map<?, ?>) Cbor.decode(f)).get("op")).toList();
        assertEquals(List.of("attest", "attested", "open", "opened", "seal", "sealed"), ops,
                "a data key this gateway never saw unwrapped goes through KMS without asking the enclave's cache");
        Map<?, ?> open = (Map<?, ?>) Cbor.decode(frames.get(2));
        assertEquals(Set.of("op", "requestId", "keyArn", "encryptedDataKey", "cms", "iv", "ciphertext", "aad"), open.keySet());
        assertArrayEquals(s.envelope().ciphertext(), (byte[]) open.get("ciphertext"));
        byte[] b64 = Base64.getEncoder().encode(s.dataKey());
        byte[] hex = HexFormat.of().formatHex(s.dataKey()).getBytes(StandardCharsets.US_ASCII);
        for (byte[] f : frames) {
            assertFalse(contains(f, s.dataKey()), "a frame carries the data key");
            assertFalse(contains(f, b64) || contains(f, hex), "a frame carries the data key encoded");
        }
        byte[] log = Files.readAllBytes(dir.resolve("audit.log"));
        assertFalse(contains(log, b64) || contains(log, hex) || contains(log, "secret prompt".getBytes()));
        assertEquals(0, enclave.openKeys(), "the enclave zeroed and dropped the key after sealing");
    }

    @Test
    void aSessionsSecondRequestSkipsAttestationAndKmsAndStillNeverShowsTheKey() throws Exception {
        String session = "session-" + requestId();
        KmsKeys.DataKey key = kms.generateDataKey(KEY_A, context("acme", session));
        Sealed first = sealInSession(key, session, "{\"model\":\"gpud-demo\",\"n\":1}");
        var opened = assertInstanceOf(SecureGateway.Opened.class, gateway.open(first.envelope()));
        gateway.seal(opened.aad(), "{}".getBytes());
        assertTrue(lastAudit().contains("enclave.seal"), lastAudit());

        int before = channel.frames.size();
        Sealed second = sealInSession(key, session, "{\"model\":\"gpud-demo\",\"n\":2}");
        var again = assertInstanceOf(SecureGateway.Opened.class, gateway.open(second.envelope()));
        assertArrayEquals("{\"model\":\"gpud-demo\",\"n\":2}".getBytes(), again.plaintext());
        assertTrue(lastAudit().contains("cached in the enclave"), lastAudit());
        var sealed = assertInstanceOf(SecureGateway.Sealed.class, gateway.seal(again.aad(), "{\"ok\":1}".getBytes()));
        assertArrayEquals("{\"ok\":1}".getBytes(), PayloadCipher.open(key.plaintext(), sealed.response().iv(),
                sealed.response().ciphertext(), sealed.response().aad()));
        List<byte[]> frames = channel.frames.subList(before, channel.frames.size());
        assertEquals(List.of("open", "opened", "seal", "sealed"),
                frames.stream().map(f -> (String) ((Map<?, ?>) Cbor.decode(f)).get("op")).toList(),
                "no attestation, so no KMS call: the enclave had the session's key");
        for (byte[] f : frames) {
            assertFalse(contains(f, key.plaintext()), "a frame carries the data key");
        }

        Sealed third = sealInSession(key, session, "{\"model\":\"gpud-demo\",\"n\":3}");
        byte[] ct = third.envelope().ciphertext().clone();
        ct[3] ^= 0x40;
        var e = third.envelope();
        assertEquals(403, refused(new SecureEnvelope(e.keyArn(), e.encryptedDataKey(), e.iv(), ct, e.aad())).status());
        assertTrue(lastAudit().contains("enclave refused: decrypt"), lastAudit());
        assertEquals(403, refused(second.envelope()).status(), "a replay under a cached key");
        assertTrue(lastAudit().contains("enclave refused: replay"), lastAudit());
    }

    /** A request of {@code session}, sealed under that session's data key. */
    static Sealed sealInSession(KmsKeys.DataKey key, String session, String body) {
        var aad = new EnvelopeAad("acme", KEY_A, session, requestId(), "gpud-demo", "request");
        var sealed = PayloadCipher.seal(key.plaintext(), body.getBytes(StandardCharsets.UTF_8), aad.toBytes(), Fips.random());
        return new Sealed(new SecureEnvelope(KEY_A, key.encrypted(), sealed.iv(), sealed.ciphertext(), aad.toBytes()),
                aad, key.plaintext());
    }

    @Test
    void replayedRequestIdIsRefusedByTheEnclave() throws Exception {
        Sealed s = seal("acme", "{\"model\":\"gpud-demo\"}".getBytes());
        var opened = assertInstanceOf(SecureGateway.Opened.class, gateway.open(s.envelope()));
        gateway.abort(opened.aad());
        assertEquals(403, refused(s.envelope()).status());
        assertTrue(lastAudit().contains("enclave refused: replay"));
    }

    @Test
    void kmsKeyIdMismatchIsRefused() throws Exception {
        String id = requestId();
        var aad = new EnvelopeAad("acme", KEY_B, id, id, "gpud-demo", "request");
        kms.generateDataKey(KEY_B, context("acme", "unused"));
        Sealed s = seal(KEY_A, context("acme", id), aad, KEY_B, "{}".getBytes());
        var r = refused(s.envelope());
        assertEquals(403, r.status());
        assertEquals(SecureGateway.CANNOT_OPEN, r.publicReason());
        assertTrue(lastAudit().contains("kms denied: IncorrectKeyException"), lastAudit());
    }

    @Test
    void aadThatDoesNotMatchTheEncryptionContextIsRefusedByKms() throws Exception {
        String id = requestId();
        var aad = new EnvelopeAad("mallory", KEY_A, id, id, "gpud-demo", "request");
        Sealed s = seal(KEY_A, context("acme", id), aad, KEY_A, "{}".getBytes());
        assertEquals(SecureGateway.CANNOT_OPEN, refused(s.envelope()).publicReason());
        assertTrue(lastAudit().contains("kms denied: InvalidCiphertextException"), lastAudit());
    }

    @Test
    void aadNamingAnotherKeyOrAResponseIsRefusedBeforeKms() throws Exception {
        String id = requestId();
        Sealed s = seal(KEY_A, context("acme", id), new EnvelopeAad("acme", KEY_B, id, id, "m", "request"), KEY_A, new byte[0]);
        assertEquals(403, refused(s.envelope()).status());
        Sealed r = seal(KEY_A, context("acme", id), new EnvelopeAad("acme", KEY_A, id, id, "m", "response"), KEY_A, new byte[0]);
        assertEquals(403, refused(r.envelope()).status());
        assertTrue(lastAudit().contains("aad does not match"), lastAudit());
    }

    @Test
    void aadAlteredAfterSealingFailsTheTag() throws Exception {
        Sealed s = seal("acme", "{}".getBytes());
        var other = new EnvelopeAad("acme", KEY_A, s.aad().requestId(), s.aad().requestId(), "another-model", "request");
        var e = s.envelope();
        assertEquals(403, refused(new SecureEnvelope(e.keyArn(), e.encryptedDataKey(), e.iv(), e.ciphertext(),
                other.toBytes())).status());
        assertTrue(lastAudit().contains("enclave refused: decrypt"), lastAudit());
    }

    @Test
    void truncatedCiphertextOrTagIsRefused() throws Exception {
        Sealed s = seal("acme", "{\"model\":\"gpud-demo\"}".getBytes());
        var e = s.envelope();
        byte[] cut = Arrays.copyOf(e.ciphertext(), e.ciphertext().length - 1);
        assertEquals(403, refused(new SecureEnvelope(e.keyArn(), e.encryptedDataKey(), e.iv(), cut, e.aad())).status());
        assertTrue(lastAudit().contains("enclave refused: decrypt"), lastAudit());
        Sealed t = seal("acme", "{}".getBytes());
        byte[] tagOnlyPart = Arrays.copyOf(t.envelope().ciphertext(), PayloadCipher.TAG_BYTES - 1);
        assertEquals(403, refused(new SecureEnvelope(KEY_A, t.envelope().encryptedDataKey(), t.envelope().iv(),
                tagOnlyPart, t.envelope().aad())).status());
        Sealed u = seal("acme", "{}".getBytes());
        byte[] truncatedBlob = Arrays.copyOf(u.envelope().encryptedDataKey(), 20);
        assertEquals(403, refused(new SecureEnvelope(KEY_A, truncatedBlob, u.envelope().iv(),
                u.envelope().ciphertext(), u.envelope().aad())).status());
    }

    @Test
    void kmsRefusesAReplayedAttestationDocument() throws Exception {
        String id = requestId();
        KmsKeys.DataKey key = kms.generateDataKey(KEY_A, context("acme", id));
        byte[] doc = attestation();
        assertInstanceOf(KmsKeys.ForRecipient.class, kms.decryptForRecipient(KEY_A, key.encrypted(), context("acme", id), doc));
        var again = assertInstanceOf(KmsKeys.Denied.class,
                kms.decryptForRecipient(KEY_A, key.encrypted(), context("acme", id), doc));
        assertEquals("AccessDeniedException", again.errorCode());
    }

    /** A fresh attestation document from the enclave, over a random nonce. */
    static byte[] attestation() throws Exception {
        byte[] nonce = new byte[32];
        Fips.random().nextBytes(nonce);
        var reply = (Map<?, ?>) Cbor.decode(channel.call(Cbor.encode(Map.of("op", "attest", "nonce", nonce))));
        return (byte[]) reply.get("document");
    }

    @Test
    void kmsPolicyWithAnotherPcr0Refuses() throws Exception {
        var strictPolicy = new PcrPolicy(Set.of(HexFormat.of().formatHex(filled(0x77))), Set.of());
        try (var strictKms = LocalKms.start(0, verifier(), strictPolicy, CLOCK);
             var strictKeys = new KmsKeys(strictKms.endpoint(), "us-east-1", true)) {
            String id = requestId();
            KmsKeys.DataKey key = strictKeys.generateDataKey(KEY_A, context("acme", id));
            var r = strictKeys.decryptForRecipient(KEY_A, key.encrypted(), context("acme", id), attestation());
            assertEquals("AccessDeniedException", assertInstanceOf(KmsKeys.Denied.class, r).errorCode());
        }
    }

    @Test
    void parentRefusesAnEnclaveOutsideItsPolicyBeforeCallingKms() throws Exception {
        var strict = onDemandGateway(channel, kms, new PcrPolicy(Set.of(HexFormat.of().formatHex(filled(0x77))), Set.of()));
        var r = assertInstanceOf(SecureGateway.Refused.class, strict.open(seal("acme", "{}".getBytes()).envelope()));
        assertEquals(503, r.status());
        assertTrue(lastAudit().contains("PCR0 is not in the allow-list"), lastAudit());
    }

    @Test
    void debugModeEnclaveIsRefused() throws Exception {
        try (var debug = EnclaveServer.unix(dir.resolve("debug.sock"), new LocalAttestor(pki, Map.of(0, new byte[48]), CLOCK));
             var ch = StreamFrameChannel.unix(dir.resolve("debug.sock"), Frames.DEFAULT_MAX_BYTES)) {
            var g = onDemandGateway(ch, kms, policy);
            assertEquals(503, assertInstanceOf(SecureGateway.Refused.class,
                    g.open(seal("acme", "{}".getBytes()).envelope())).status());
            assertTrue(lastAudit().contains("debug-mode enclave"), lastAudit());
        }
    }

    @Test
    void aKmsAnswerCarryingPlaintextIsRefusedAndAudited() throws Exception {
        try (var fake = FakeKms.plaintext(KEY_A); var fakeKeys = new KmsKeys(fake.endpoint(), "us-east-1", true)) {
            var g = onDemandGateway(channel, fakeKeys, policy);
            var r = assertInstanceOf(SecureGateway.Refused.class, g.open(seal("acme", "{}".getBytes()).envelope()));
            assertEquals(502, r.status());
            assertTrue(lastAudit().contains("refused: answer carried Plaintext"), lastAudit());
        }
    }

    /** The shared enclave channel, except that calls whose op is in {@code failing} fail as a dead connection would. */
    static final class Breaking implements FrameChannel {
        volatile Set<String> failing = Set.of();

        @Override
        public byte[] call(byte[] request) throws IOException {
            if (failing.contains(String.valueOf(((Map<?, ?>) Cbor.decode(request)).get("op")))) {
                throw new IOException("Connection reset by peer");
            }
            return channel.call(request);
        }

        @Override
        public void close() {
        }
    }

    @Test
    void anEnclaveOrKmsThatCannotBeReachedIsA503AndAudited() throws Exception {
        int closedPort;
        try (var s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (var gone = new KmsKeys(URI.create("http://127.0.0.1:" + closedPort), "us-east-1", true)) {
            var g = onDemandGateway(channel, gone, policy);
            var r = assertInstanceOf(SecureGateway.Refused.class, g.open(seal("acme", "{}".getBytes()).envelope()));
            assertEquals(new SecureGateway.Refused(503, SecureGateway.KMS_UNAVAILABLE), r);
            assertTrue(lastAudit().contains("kms.decrypt") && lastAudit().contains("unavailable"), lastAudit());
        }
        // KMS failing or throttling (after the SDK's retries) is an outage; a refusal stays a 403.
        for (var answer : List.of(FakeKms.error(500, "KMSInternalException"),
                FakeKms.error(400, "ThrottlingException"))) {
            try (answer; var keys = new KmsKeys(answer.endpoint(), "us-east-1", true)) {
                var g = onDemandGateway(channel, keys, policy);
                assertEquals(new SecureGateway.Refused(503, SecureGateway.KMS_UNAVAILABLE),
                        g.open(seal("acme", "{}".getBytes()).envelope()));
                assertTrue(answer.calls.get() > 1, "the SDK retried first");
            }
        }
        try (var denies = FakeKms.error(400, "AccessDeniedException");
             var keys = new KmsKeys(denies.endpoint(), "us-east-1", true)) {
            var g = onDemandGateway(channel, keys, policy);
            assertEquals(403, assertInstanceOf(SecureGateway.Refused.class,
                    g.open(seal("acme", "{}".getBytes()).envelope())).status());
            assertEquals(1, denies.calls.get(), "a refusal is not retried");
        }

        var breaking = new Breaking();
        var g = onDemandGateway(breaking, kms, policy);
        breaking.failing = Set.of("open");
        var r = assertInstanceOf(SecureGateway.Refused.class, g.open(seal("acme", "{}".getBytes()).envelope()));
        assertEquals(new SecureGateway.Refused(503, SecureGateway.ENCLAVE_UNAVAILABLE), r);
        assertTrue(lastAudit().contains("secure.open") && lastAudit().contains("Connection reset by peer"), lastAudit());

        breaking.failing = Set.of();
        Sealed s = seal("acme", "{\"model\":\"gpud-demo\"}".getBytes());
        var opened = assertInstanceOf(SecureGateway.Opened.class, g.open(s.envelope()));
        breaking.failing = Set.of("seal", "abort");
        assertEquals(new SecureGateway.Refused(500, SecureGateway.CANNOT_SEAL), g.seal(opened.aad(), "out".getBytes()),
                "the request id is spent: not a 503 to retry");
        assertTrue(lastAudit().contains("enclave.seal") && lastAudit().contains("unavailable"), lastAudit());
        g.abort(opened.aad()); // does not throw: audited
        assertTrue(lastAudit().contains("enclave.abort") && lastAudit().contains("unavailable"), lastAudit());
        breaking.failing = Set.of();
        channel.call(EnclaveMessage.encode(new EnclaveMessage.Abort(opened.aad().requestId())));
    }

    @Test
    void malformedAadIsA400() {
        Sealed s = seal("acme", "{}".getBytes());
        var e = s.envelope();
        var r = refused(new SecureEnvelope(e.keyArn(), e.encryptedDataKey(), e.iv(), e.ciphertext(), new byte[] {(byte) 0xbf}));
        assertEquals(400, r.status());
    }
}
