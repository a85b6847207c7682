package io.gpud.enclave.crypto;

import io.gpud.enclave.protocol.Cbor;
import io.gpud.enclave.protocol.ProtocolException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Verifies Nitro attestation documents: the COSE_Sign1 structure and ES384 protected
 * header, the certificate chain from the pinned root through the cabundle to the leaf
 * (every certificate valid at the verification time, every issuer a CA), the signature
 * under the leaf's key, the timestamp's freshness and the caller's nonce. PCRs are checked
 * separately by {@link PcrPolicy}, so a document can be verified and still be refused.
 *
 * <p>The root is pinned by its exact DER bytes: the AWS Nitro root G1
 * ({@link #awsNitroRoot()}), or in local mode only the generated test root. The cabundle's
 * first certificate must be that root byte for byte.
 */
public final class AttestationVerifier {

    /** SHA-256 of the AWS Nitro Enclaves root G1 certificate, as AWS publishes it. */
    public static final String AWS_NITRO_ROOT_SHA256 =
            "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

    /** How far a document's timestamp may lie ahead of the verifier's clock. */
    private static final Duration CLOCK_SKEW = Duration.ofSeconds(30);
    private static final int MAX_REMEMBERED_CHAINS = 64;

    /** The outcome of a verification. */
    public sealed interface Verification {
    }

    /** Signature, chain, freshness and nonce hold. */
    public record Verified(AttestationDocument document) implements Verification {
    }

    /** Refused; {@code reason} names the failed check. */
    public record Rejected(String reason) implements Verification {
    }

    private final X509Certificate root;
    private final byte[] rootDer;
    private final Duration maxAge;
    /**
     * Chains whose certificate signatures verified before (Nitro reuses one chain for hours),
     * parsed, by {@link #chainId}: each document then costs one ECDSA verification instead
     * of one per certificate, and that one reuses the leaf key's precomputed multiples
     * (about 0.6 ms of the 1.1 ms a key seen for the first time costs). Validity periods and
     * CA flags are still checked every time.
     */
    private final LinkedHashMap<String, List<X509Certificate>> verifiedChains = new LinkedHashMap<>();

    /**
     * @param root   the pinned root
     * @param maxAge how old a document may be at verification time
     */
    public AttestationVerifier(X509Certificate root, Duration maxAge) {
        this.root = root;
        this.maxAge = maxAge;
        try {
            this.rootDer = root.getEncoded();
        } catch (GeneralSecurityException e) {
            throw new CryptoException("root certificate cannot be encoded", e);
        }
    }

    /** The AWS Nitro root G1, from the jar, checked against its published fingerprint. */
    public static X509Certificate awsNitroRoot() {
        try (InputStream in = AttestationVerifier.class.getResourceAsStream("/io/gpud/enclave/aws-nitro-root-g1.pem")) {
            if (in == null) {
                throw new CryptoException("the AWS Nitro root certificate resource is missing");
            }
            X509Certificate cert = certificate(in.readAllBytes());
            String fp = java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
            if (!fp.equals(AWS_NITRO_ROOT_SHA256)) {
                throw new CryptoException("the AWS Nitro root certificate has fingerprint " + fp + ", expected "
                        + AWS_NITRO_ROOT_SHA256);
            }
            return cert;
        } catch (IOException | GeneralSecurityException e) {
            throw new CryptoException("cannot read the AWS Nitro root certificate: " + e.getMessage(), e);
        }
    }

    /**
     * Verifies {@code bytes} at time {@code now}.
     *
     * @param expectedNonce the nonce the caller asked for; null to accept any (or none)
     */
    public Verification verify(byte[] bytes, Instant now, byte[] expectedNonce) {
        try {
            return check(bytes, now, expectedNonce);
        } catch (ProtocolException e) {
            return new Rejected("malformed: " + e.getMessage());
        }
    }

    private Verification check(byte[] bytes, Instant now, byte[] expectedNonce) {
        CoseSign1 cose = CoseSign1.parse(bytes);
        if (!cose.isEs384()) {
            return new Rejected("protected header is not exactly {alg: ES384}");
        }
        if (!(Cbor.decode(cose.payload(), new Cbor.Limits(3, 64)) instanceof Map<?, ?> p)) {
            return new Rejected("payload is not a map");
        }
        if (!"SHA384".equals(p.get("digest"))) {
            return new Rejected("digest is not SHA384");
        }
        if (!(p.get("module_id") instanceof String moduleId) || !(p.get("timestamp") instanceof Long millis)
                || !(p.get("certificate") instanceof byte[] leafDer) || !(p.get("cabundle") instanceof List<?> bundle)
                || !(p.get("pcrs") instanceof Map<?, ?> pcrMap)) {
            return new Rejected("payload lacks module_id, timestamp, certificate, cabundle or pcrs");
        }
        byte[] publicKey = optionalBytes(p, "public_key");
        byte[] nonce = optionalBytes(p, "nonce");
        if (bundle.isEmpty()) {
            return new Rejected("cabundle is empty");
        }
        var ders = new ArrayList<byte[]>(bundle.size() + 1);
        for (Object o : bundle) {
            if (!(o instanceof byte[] der)) {
                return new Rejected("cabundle entry is not a byte string");
            }
            ders.add(der);
        }
        if (!Arrays.equals(ders.getFirst(), rootDer)) {
            return new Rejected("chain does not start at the pinned root");
        }
        ders.add(leafDer);
        String chainId = chainId(ders);
        List<X509Certificate> chain;
        synchronized (verifiedChains) {
            chain = verifiedChains.get(chainId);
        }
        boolean signaturesKnownGood = chain != null;
        if (chain == null) {
            chain = ders.stream().map(AttestationVerifier::certificate).toList();
        }
        X509Certificate leaf = chain.getLast();
        Date at = Date.from(now);
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate cert = chain.get(i);
            X509Certificate issuer = i == 0 ? root : chain.get(i - 1);
            if (!signaturesKnownGood) {
                try {
                    cert.verify(issuer.getPublicKey(), Fips.PROVIDER);
                } catch (GeneralSecurityException e) {
                    return new Rejected("certificate " + i + " (" + cert.getSubjectX500Principal().getName()
                            + ") is not signed by its issuer");
                }
            }
            if (i < chain.size() - 1 && cert.getBasicConstraints() < 0) {
                return new Rejected("certificate " + i + " issues certificates but is not a CA");
            }
            try {
                cert.checkValidity(at);
            } catch (GeneralSecurityException e) {
                return new Rejected((i == chain.size() - 1 ? "leaf" : "certificate " + i) + " is not valid at " + now);
            }
        }
        if (!signaturesKnownGood) {
            rememberVerified(chainId, chain);
        }
        if (!cose.verify(leaf.getPublicKey())) {
            return new Rejected("signature does not verify under the leaf key");
        }
        Instant timestamp = Instant.ofEpochMilli(millis);
        if (timestamp.isAfter(now.plus(CLOCK_SKEW))) {
            return new Rejected("timestamp " + timestamp + " is in the future of " + now);
        }
        if (timestamp.isBefore(now.minus(maxAge))) {
            return new Rejected("timestamp " + timestamp + " is older than " + maxAge + " at " + now);
        }
        if (expectedNonce != null && (nonce == null || !MessageDigest.isEqual(nonce, expectedNonce))) {
            return new Rejected("nonce does not match the one asked for");
        }
        var pcrs = new LinkedHashMap<Integer, byte[]>();
        for (var e : pcrMap.entrySet()) {
            if (!(e.getKey() instanceof Long index) || index < 0 || index > 31 || !(e.getValue() instanceof byte[] v)) {
                return new Rejected("pcrs must map 0..31 to byte strings");
            }
            pcrs.put(index.intValue(), v);
        }
        return new Verified(new AttestationDocument(moduleId, timestamp, Map.copyOf(pcrs), leaf,
                List.copyOf(chain.subList(0, chain.size() - 1)), publicKey, nonce));
    }

    /**
     * SHA-256 over the chain's DER certificates, each after its length: the key under which
     * a verified chain is remembered.
     */
    private static String chainId(List<byte[]> ders) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] der : ders) {
                md.update(java.nio.ByteBuffer.allocate(4).putInt(der.length).array());
                md.update(der);
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (GeneralSecurityException e) {
            throw new CryptoException("cannot hash a certificate chain", e);
        }
    }

    private void rememberVerified(String chainId, List<X509Certificate> chain) {
        synchronized (verifiedChains) {
            verifiedChains.putLast(chainId, chain);
            if (verifiedChains.size() > MAX_REMEMBERED_CHAINS) {
                verifiedChains.pollFirstEntry();
            }
        }
    }

    private static byte[] optionalBytes(Map<?, ?> p, String key) {
        Object v = p.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof byte[] b) {
            return b;
        }
        throw new ProtocolException(key + " must be a byte string or null");
    }

    /** Parses one DER or PEM certificate. */
    public static X509Certificate certificate(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509", Fips.provider())
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new ProtocolException("not an X.509 certificate", e);
        }
    }
}
