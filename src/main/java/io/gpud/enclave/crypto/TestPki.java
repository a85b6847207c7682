package io.gpud.enclave.crypto;

import io.gpud.enclave.protocol.Cbor;
import io.gpud.enclave.protocol.ProtocolException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The throw-away PKI of local mode: a P-384 root and one leaf that signs attestation
 * documents, generated at start. It stands in for the AWS Nitro PKI and is trusted only
 * where local mode is explicitly chosen; the production verifier pins the AWS root.
 *
 * @param root    the self-signed root
 * @param leaf    the attestation signer, issued by {@code root}
 * @param leafKey the signer's private key
 */
public record TestPki(X509Certificate root, KeyPair rootKeys, X509Certificate leaf, PrivateKey leafKey) {

    /** A fresh root and a leaf valid from a minute ago for {@code leafValidity}. */
    public static TestPki generate(Instant now, Duration leafValidity) {
        KeyPair rootKeys = ecKeyPair();
        X509Certificate root = issue("CN=gpud local attestation root (INSECURE)", rootKeys, rootKeys.getPrivate(),
                new X500Principal("CN=gpud local attestation root (INSECURE)"), now.minus(Duration.ofMinutes(1)),
                now.plus(Duration.ofDays(3650)), true);
        KeyPair leafKeys = ecKeyPair();
        X509Certificate leaf = issue("CN=gpud local enclave (INSECURE)", leafKeys, rootKeys.getPrivate(),
                root.getSubjectX500Principal(), now.minus(Duration.ofMinutes(1)), now.plus(leafValidity), false);
        return new TestPki(root, rootKeys, leaf, leafKeys.getPrivate());
    }

    /** The same root with a new leaf valid in {@code [notBefore, notAfter]} (tests of expiry). */
    public TestPki withLeaf(Instant notBefore, Instant notAfter) {
        KeyPair leafKeys = ecKeyPair();
        X509Certificate l = issue("CN=gpud local enclave (INSECURE)", leafKeys, rootKeys.getPrivate(),
                root.getSubjectX500Principal(), notBefore, notAfter, false);
        return new TestPki(root, rootKeys, l, leafKeys.getPrivate());
    }

    /** What the enclave program needs to sign documents: root and leaf certificates, leaf key (CBOR). */
    public byte[] signerBytes() {
        try {
            var map = new LinkedHashMap<String, Object>();
            map.put("root", root.getEncoded());
            map.put("leaf", leaf.getEncoded());
            map.put("leafKey", leafKey.getEncoded());
            return Cbor.encode(map);
        } catch (GeneralSecurityException e) {
            throw new CryptoException("cannot encode the test PKI", e);
        }
    }

    /** Reads {@link #signerBytes()} back; the root's private key is not part of it. */
    public static TestPki fromSignerBytes(byte[] bytes) {
        if (!(Cbor.decode(bytes) instanceof Map<?, ?> m) || !(m.get("root") instanceof byte[] r)
                || !(m.get("leaf") instanceof byte[] l) || !(m.get("leafKey") instanceof byte[] k)) {
            throw new ProtocolException("test PKI file must hold root, leaf and leafKey");
        }
        try {
            PrivateKey key = KeyFactory.getInstance("EC", Fips.provider()).generatePrivate(new PKCS8EncodedKeySpec(k));
            return new TestPki(AttestationVerifier.certificate(r), null, AttestationVerifier.certificate(l), key);
        } catch (GeneralSecurityException e) {
            throw new CryptoException("test PKI leaf key is malformed", e);
        }
    }

    private static KeyPair ecKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC", Fips.provider());
            g.initialize(new ECGenParameterSpec("secp384r1"), Fips.random());
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new CryptoException("cannot generate a P-384 key: " + e.getMessage(), e);
        }
    }

    private static X509Certificate issue(String subject, KeyPair subjectKeys, PrivateKey issuerKey,
                                         X500Principal issuer, Instant notBefore, Instant notAfter, boolean ca) {
        try {
            var builder = new JcaX509v3CertificateBuilder(issuer, new BigInteger(64, Fips.random()),
                    Date.from(notBefore), Date.from(notAfter), new X500Principal(subject), subjectKeys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            var signer = new JcaContentSignerBuilder("SHA384withECDSA").setProvider(Fips.provider()).build(issuerKey);
            return new JcaX509CertificateConverter().setProvider(Fips.provider()).getCertificate(builder.build(signer));
        } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
            throw new CryptoException("cannot issue a test certificate: " + e.getMessage(), e);
        }
    }
}
