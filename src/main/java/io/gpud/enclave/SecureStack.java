package io.gpud.enclave;

import io.gpud.audit.AuditLog;
import io.gpud.config.SecureConfig;
import io.gpud.enclave.crypto.AttestationVerifier;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.Measurement;
import io.gpud.enclave.crypto.PcrPolicy;
import io.gpud.enclave.crypto.TestPki;
import io.gpud.enclave.program.EnclaveMain;
import io.gpud.enclave.protocol.FrameChannel;
import io.gpud.enclave.protocol.Frames;
import io.gpud.enclave.protocol.StreamFrameChannel;
import io.gpud.enclave.protocol.Vsock;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything the secure envelope runs on, started for one mode: the audit log, the
 * requests' {@link EnclaveConnections}, KMS, the verifier, the {@link AttestationPool} on an
 * enclave connection of its own, and the {@link SecureGateway} over them. In {@code nitro}
 * mode: vsock to the enclave, the AWS Nitro root, the configured PCR allow-list and real
 * KMS. In {@code local} mode (INSECURE): a generated test PKI, the enclave program as a
 * child process, and {@link LocalKms} on loopback whose policy allows the measurement of
 * the running jar.
 */
public final class SecureStack implements AutoCloseable {

    /** How long local mode's attestation signer certificate is valid. */
    private static final Duration LOCAL_LEAF_VALIDITY = Duration.ofDays(1);
    /** The oldest (by its timestamp) a document made ahead of its request may be when used. */
    private static final Duration POOLED_DOCUMENT_MAX_AGE = Duration.ofSeconds(30);
    /**
     * Connections secure requests may hold to the enclave at once: about as many requests as
     * the engine serves together; the enclave program serves up to 64.
     */
    private static final int ENCLAVE_CONNECTIONS = 8;

    /**
     * How long one call to the enclave (an attestation document, an open, a seal) may wait
     * for its reply. Each is milliseconds of work; past this the enclave is taken to hang.
     */
    static final Duration ENCLAVE_CALL_TIMEOUT = Duration.ofSeconds(10);

    private final SecureGateway gateway;
    private final URI kmsEndpoint;
    private final List<AutoCloseable> parts;

    private SecureStack(SecureGateway gateway, URI kmsEndpoint, List<AutoCloseable> parts) {
        this.gateway = gateway;
        this.kmsEndpoint = kmsEndpoint;
        this.parts = parts;
    }

    /**
     * Starts the stack for {@code config.mode()} ({@code local} or {@code nitro}); the audit
     * log's failure counter goes into {@code metrics}.
     */
    public static SecureStack start(SecureConfig config, Path dataDir, Clock clock, MetricRegistry metrics) {
        var parts = new ArrayList<AutoCloseable>();
        try {
            AuditLog audit = AuditLog.open(config.auditFile() != null ? config.auditFile() : dataDir.resolve("audit.log"),
                    clock, metrics);
            parts.add(audit);
            String mode = config.mode().name().toLowerCase(java.util.Locale.ROOT);
            audit.append("secure.start", java.util.Map.of("mode", mode));
            return switch (config.mode()) {
                case LOCAL -> local(config, dataDir, clock, audit, parts);
                case NITRO -> nitro(config, clock, audit, parts);
                case OFF -> throw new EnclaveException("secure.mode '" + mode + "' starts no secure stack");
            };
        } catch (RuntimeException e) {
            closeAll(parts);
            throw e;
        }
    }

    private static SecureStack local(SecureConfig config, Path dataDir, Clock clock, AuditLog audit,
                                     List<AutoCloseable> parts) {
        TestPki pki = TestPki.generate(clock.instant(), LOCAL_LEAF_VALIDITY);
        var policy = new PcrPolicy(Set.of(HexFormat.of().formatHex(Measurement.codeOf(EnclaveMain.class))), Set.of());
        LocalKms localKms = LocalKms.start(config.localKmsPort(),
                new AttestationVerifier(pki.root(), config.attestationMaxAge()), policy, clock);
        parts.add(localKms);
        LocalEnclave enclave = LocalEnclave.start(dataDir.resolve("enclave"), pki);
        parts.add(enclave);
        KmsKeys kms = new KmsKeys(localKms.endpoint(), config.kmsRegion(), true);
        parts.add(kms);
        var gateway = gateway(enclave::connect, kms, pki.root(), policy, config, audit, clock, parts);
        return new SecureStack(gateway, localKms.endpoint(), List.copyOf(parts));
    }

    private static SecureStack nitro(SecureConfig config, Clock clock, AuditLog audit, List<AutoCloseable> parts) {
        KmsKeys kms = new KmsKeys(config.kmsEndpoint(), config.kmsRegion(), false);
        parts.add(kms);
        var gateway = gateway(() -> vsock(config), kms, AttestationVerifier.awsNitroRoot(),
                new PcrPolicy(Set.copyOf(config.pcr0()), Set.copyOf(config.pcr8())), config, audit, clock, parts);
        return new SecureStack(gateway, config.kmsEndpoint(), List.copyOf(parts));
    }

    /**
     * The parts both modes share, each added to {@code parts}: the attestation pool on a
     * connection of its own, checked once before anything is served, and the gateway over
     * the requests' connections.
     */
    private static SecureGateway gateway(EnclaveConnections.Connector enclave, KmsKeys kms, X509Certificate root,
                                         PcrPolicy policy, SecureConfig config, AuditLog audit, Clock clock,
                                         List<AutoCloseable> parts) {
        FrameChannel poolChannel = new EnclaveConnections(enclave, 1, ENCLAVE_CALL_TIMEOUT);
        parts.add(poolChannel);
        AttestationPool pool = pool(poolChannel, new AttestationVerifier(root, config.attestationMaxAge()), policy,
                audit, clock, config.attestationMaxAge());
        parts.add(pool);
        checkAtStart(pool, poolChannel, audit);
        var requests = new EnclaveConnections(enclave, ENCLAVE_CONNECTIONS, ENCLAVE_CALL_TIMEOUT);
        parts.add(requests);
        return new SecureGateway(requests, kms, pool, audit);
    }

    private static FrameChannel vsock(SecureConfig config) {
        try {
            Vsock.Connection c = Vsock.connect(config.enclaveCid(), config.enclavePort());
            return new StreamFrameChannel(c.in(), c.out(), c, Frames.DEFAULT_MAX_BYTES);
        } catch (IOException e) {
            throw new EnclaveException("cannot reach the enclave at vsock " + config.enclaveCid() + ":"
                    + config.enclavePort() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Before the node serves: one attestation document from the enclave, verified as every
     * request's is (root, chain, signature, freshness, nonce, PCR allow-list), so a wrong
     * {@code secure.pcr0}, an enclave built from other code, or a clock far off stops the
     * start with the reason, instead of every secure request answering 503 later. Audited
     * either way.
     */
    static void checkAtStart(AttestationPool pool, FrameChannel channel, AuditLog audit) {
        if (pool.attestNow(channel) instanceof AttestationPool.Unavailable(String reason)) {
            audit.append("secure.attest", Map.of("for", "start-up check", "outcome", "rejected", "reason", reason));
            throw new EnclaveException("the enclave failed the start-up attestation check: " + reason);
        }
        audit.append("secure.attest", Map.of("for", "start-up check", "outcome", "verified"));
    }

    /**
     * Documents made ahead are used within a quarter of the verifier's maximum age, at most
     * {@link #POOLED_DOCUMENT_MAX_AGE}; when that leaves too little time to be worth it,
     * every request attests on demand.
     */
    private static AttestationPool pool(FrameChannel channel, AttestationVerifier verifier, PcrPolicy policy,
                                        AuditLog audit, Clock clock, Duration maxAge) {
        Duration useWithin = maxAge.dividedBy(4).compareTo(POOLED_DOCUMENT_MAX_AGE) < 0 ? maxAge.dividedBy(4)
                : POOLED_DOCUMENT_MAX_AGE;
        int capacity = useWithin.compareTo(Duration.ofSeconds(5)) < 0 ? 0 : AttestationPool.DEFAULT_CAPACITY;
        return new AttestationPool(channel, verifier, policy, audit, clock, Fips.random(), capacity, useWithin);
    }

    /** The gateway the API serves {@code /v1/secure/...} through. */
    public SecureGateway gateway() {
        return gateway;
    }

    /** Local mode's KMS endpoint, for {@code gpud tenant seal --kms-endpoint}; the configured one otherwise. */
    public URI kmsEndpoint() {
        return kmsEndpoint;
    }

    @Override
    public void close() {
        closeAll(new ArrayList<>(parts));
    }

    private static void closeAll(List<AutoCloseable> parts) {
        for (int i = parts.size() - 1; i >= 0; i--) {
            try {
                parts.get(i).close();
            } catch (Exception e) {
                // Closing is best effort; the rest must still close.
            }
        }
    }
}
