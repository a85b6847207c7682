package io.gpud.enclave.crypto;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A cluster CA made for a test (P-256, real certificates), and the PEM files of the nodes it
 * issues: {@code <name>.crt}, {@code <name>.key}, and a CA file the test writes.
 */
public final class ClusterCaFixture {

    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    private final KeyPair keys;
    private final X509Certificate certificate;

    /** A new self-signed CA named {@code name}. */
    public ClusterCaFixture(String name) {
        keys = ecKeys();
        var subject = new X500Principal("CN=" + name);
        certificate = sign(subject, keys, subject, true);
    }

    /** The CA's certificate in PEM. */
    public String pem() {
        return pem(certificate);
    }

    /** Writes the PEM of these CAs, one after the other, to {@code file} (atomically, as an operator would). */
    public static Path writeCaFile(Path file, ClusterCaFixture... cas) throws IOException {
        var text = new StringBuilder();
        for (ClusterCaFixture ca : cas) {
            text.append(ca.pem());
        }
        replace(file, text.toString());
        return file;
    }

    /** The files of one node's identity. */
    public record NodeFiles(Path cert, Path key) {
    }

    /** Issues a certificate for {@code node} and writes it and its key as {@code dir/node.crt} and {@code dir/node.key}. */
    public NodeFiles issue(Path dir, String node) throws IOException {
        KeyPair nodeKeys = ecKeys();
        X509Certificate cert = sign(new X500Principal("CN=" + node), nodeKeys, certificate.getSubjectX500Principal(),
                false);
        Path crt = dir.resolve(node + ".crt");
        Path key = dir.resolve(node + ".key");
        replace(key, pem(nodeKeys.getPrivate()));
        replace(crt, pem(cert));
        return new NodeFiles(crt, key);
    }

    private X509Certificate sign(X500Principal subject, KeyPair subjectKeys, X500Principal issuer, boolean ca) {
        Instant now = Instant.now();
        try {
            var builder = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), subject,
                    subjectKeys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            if (ca) {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            } else {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
                builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                        new KeyPurposeId[]{KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            }
            var signer = new JcaContentSignerBuilder("SHA256withECDSA").setProvider(Fips.provider())
                    .build((ca ? subjectKeys : keys).getPrivate());
            return new JcaX509CertificateConverter().setProvider(Fips.provider()).getCertificate(builder.build(signer));
        } catch (Exception e) {
            throw new IllegalStateException("cannot issue a test certificate: " + e, e);
        }
    }

    private static KeyPair ecKeys() {
        try {
            var g = KeyPairGenerator.getInstance("EC", Fips.provider());
            g.initialize(new ECGenParameterSpec("P-256"), Fips.random());
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate a P-256 key: " + e, e);
        }
    }

    private static String pem(Object o) {
        var out = new StringWriter();
        try (var w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString();
    }

    private static void replace(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
