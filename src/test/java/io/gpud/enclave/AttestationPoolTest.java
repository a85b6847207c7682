package io.gpud.enclave;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.audit.AuditLog;
import io.gpud.enclave.crypto.AttestationVerifier;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.LocalAttestor;
import io.gpud.enclave.crypto.PcrPolicy;
import io.gpud.enclave.crypto.TestPki;
import io.gpud.enclave.program.EnclaveServer;
import io.gpud.enclave.protocol.Frames;
import io.gpud.enclave.protocol.StreamFrameChannel;
import io.gpud.metrics.MetricRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Documents made ahead: single use, never stale, never unverified, and KMS still checks them. */
class AttestationPoolTest {

    static final byte[] PCR0 = filled(0x5a);
    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/pool";

    @TempDir
    Path dir;

    static byte[] filled(int b) {
        byte[] x = new byte[48];
        Arrays.fill(x, (byte) b);
        return x;
    }

    /** A clock the test moves; both the enclave's documents and the parent's checks read it. */
    static final class MovableClock extends Clock {
        final AtomicReference<Instant> now = new AtomicReference<>(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("not within 20 s: " + what);
            }
            Thread.sleep(10);
        }
    }

    // An enclave whose documents report PCR0, signed by a fresh test PKI, on the test's clock.
    private MovableClock clock;
    private TestPki pki;
    private AttestationVerifier verifier;
    private Path socket;

    @BeforeEach
    void fixture() {
        clock = new MovableClock();
        pki = TestPki.generate(clock.instant(), Duration.ofHours(1));
        verifier = new AttestationVerifier(pki.root(), Duration.ofMinutes(5));
        socket = dir.resolve("enclave.sock");
    }

    private EnclaveServer startEnclave() throws Exception {
        return EnclaveServer.unix(socket, new LocalAttestor(pki, Map.of(0, PCR0), clock));
    }

    private static PcrPolicy allowing(byte[] pcr0) {
        return new PcrPolicy(Set.of(HexFormat.of().formatHex(pcr0)), Set.of());
    }

    @Test
    void documentsAreHandedOutOnceFreshAndKmsStillRefusesAReusedOne() throws Exception {
        var policy = allowing(PCR0);
        try (var enclave = startEnclave();
             var refillChannel = StreamFrameChannel.unix(socket, Frames.DEFAULT_MAX_BYTES);
             var requestChannel = StreamFrameChannel.unix(socket, Frames.DEFAULT_MAX_BYTES);
             var audit = AuditLog.open(dir.resolve("audit.log"), clock, new MetricRegistry());
             var localKms = LocalKms.start(0, verifier, policy, clock);
             var kms = new KmsKeys(localKms.endpoint(), "us-east-1", true);
             var pool = new AttestationPool(refillChannel, verifier, policy, audit, clock, Fips.random(), 4,
                     Duration.ofSeconds(10))) {
            await(() -> pool.ready() == 4, "the pool fills to its capacity");

            var first = assertInstanceOf(AttestationPool.Attested.class, pool.take(requestChannel));
            var second = assertInstanceOf(AttestationPool.Attested.class, pool.take(requestChannel));
            assertFalse(Arrays.equals(first.document(), second.document()), "each document is handed out once");

            var context = Map.of("tenant", "acme", "session", "s1");
            var key = kms.generateDataKey(KEY, context);
            assertInstanceOf(KmsKeys.ForRecipient.class,
                    kms.decryptForRecipient(KEY, key.encrypted(), context, first.document()));
            assertEquals("AccessDeniedException", assertInstanceOf(KmsKeys.Denied.class,
                    kms.decryptForRecipient(KEY, key.encrypted(), context, first.document())).errorCode(),
                    "KMS refuses a pooled document a second time");

            await(() -> pool.ready() == 4, "the pool refills what was taken");
            Instant filledAt = clock.instant();
            clock.now.set(filledAt.plus(Duration.ofSeconds(11)));
            var late = assertInstanceOf(AttestationPool.Attested.class, pool.take(requestChannel));
            assertTrue(!late.timestamp().isBefore(filledAt.plus(Duration.ofSeconds(11))),
                    "documents older than the bound are dropped; this one was made on demand: " + late.timestamp());
            await(() -> pool.ready() == 4, "the pool replaces the stale documents");
        }
    }

    @Test
    void aDocumentThatFailsVerificationIsNeverPooledAndTheFailureIsAudited() throws Exception {
        var policy = allowing(filled(0x77));
        Path log = dir.resolve("audit.log");
        try (var enclave = startEnclave();
             var refillChannel = StreamFrameChannel.unix(socket, Frames.DEFAULT_MAX_BYTES);
             var requestChannel = StreamFrameChannel.unix(socket, Frames.DEFAULT_MAX_BYTES);
             var audit = AuditLog.open(log, clock, new MetricRegistry());
             var pool = new AttestationPool(refillChannel, verifier, policy, audit, clock, Fips.random(), 4,
                     Duration.ofSeconds(10))) {
            await(() -> {
                try {
                    return Files.readString(log).contains("attestation pool");
                } catch (java.io.IOException e) {
                    return false;
                }
            }, "the refill audits the refusal");
            assertTrue(Files.readString(log).contains("PCR0 is not in the allow-list"), Files.readString(log));
            assertEquals(0, pool.ready());
            var r = assertInstanceOf(AttestationPool.Unavailable.class, pool.take(requestChannel));
            assertTrue(r.reason().contains("PCR0 is not in the allow-list"), r.reason());
        }
    }

    @Test
    void theStartUpCheckStopsANodeWhoseEnclaveFailsThePolicyAndPassesOneThatDoesNot() throws Exception {
        try (var enclave = startEnclave();
             var channel = StreamFrameChannel.unix(socket, Frames.DEFAULT_MAX_BYTES);
             var audit = AuditLog.open(dir.resolve("audit.log"), clock, new MetricRegistry());
             var wrong = new AttestationPool(channel, verifier, allowing(filled(0x77)), audit, clock, Fips.random(), 0,
                     Duration.ofSeconds(10));
             var right = new AttestationPool(channel, verifier, allowing(PCR0), audit, clock, Fips.random(), 0,
                     Duration.ofSeconds(10))) {
            var e = assertThrows(EnclaveException.class, () -> SecureStack.checkAtStart(wrong, channel, audit));
            assertEquals("the enclave failed the start-up attestation check: rejected: PCR0 is not in the allow-list",
                    e.getMessage());
            SecureStack.checkAtStart(right, channel, audit);
            String log = Files.readString(dir.resolve("audit.log"));
            assertTrue(log.contains("start-up check") && log.contains("rejected") && log.contains("verified"), log);
        }
    }

    @Test
    void capacityZeroAttestsOnDemandWithAFreshNonceEachTime() throws Exception {
        var policy = allowing(PCR0);
        try (var enclave = startEnclave();
             var channel = StreamFrameChannel.unix(socket, Frames.DEFAULT_MAX_BYTES);
             var audit = AuditLog.open(dir.resolve("audit.log"), clock, new MetricRegistry());
             var pool = new AttestationPool(channel, verifier, policy, audit, clock, Fips.random(), 0,
                     Duration.ofSeconds(10))) {
            var a = assertInstanceOf(AttestationPool.Attested.class, pool.take(channel));
            var b = assertInstanceOf(AttestationPool.Attested.class, pool.take(channel));
            assertEquals(0, pool.ready());
            var da = assertInstanceOf(AttestationVerifier.Verified.class, verifier.verify(a.document(), clock.instant(), null));
            var db = assertInstanceOf(AttestationVerifier.Verified.class, verifier.verify(b.document(), clock.instant(), null));
            assertFalse(Arrays.equals(da.document().nonce(), db.document().nonce()));
            assertArrayEquals(da.document().publicKey(), db.document().publicKey(), "one enclave key");
        }
    }
}
