package io.gpud.enclave.crypto;

import java.io.IOException;
import java.io.Reader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Mutual TLS 1.3 between the nodes of a cluster: Bouncy Castle's JSSE provider in FIPS mode
 * over {@link Fips}'s approved-only provider, one {@link SSLContext} for both the peer
 * listener (client certificates required) and the forwarding client.
 *
 * <p>Trust is the cluster CA file: every certificate in it is a trust anchor, so a rotation
 * lists the old and the new CA side by side until every node holds a certificate of the
 * new one. A peer is trusted when its chain ends at one of them; host names are not
 * checked, because membership in the cluster — a certificate the cluster CA issued — is
 * the credential, and a node's address comes from gossip.
 *
 * <p>Rotation without a restart: before each handshake the three files' size, time and
 * file identity are compared with those last read; when any changed, the files are read
 * again and new connections use them (open ones keep theirs). A set that does not load —
 * a certificate written before its key, a key that does not match — is reported once and
 * the previous one stays in use until the files change again.
 */
public final class PeerTls {

    /** The only protocol offered or accepted. */
    public static final String PROTOCOL = "TLSv1.3";

    private static final String ALIAS = "node";

    private final Path caFile;
    private final Path certFile;
    private final Path keyFile;
    private final Consumer<String> warnings;
    private final Provider jsse;
    private final SSLContext context;
    private volatile Material material;

    /** What one reading of the files gave: their stamps, and the managers built from them. */
    private record Material(List<String> stamp, X509ExtendedKeyManager keys, X509ExtendedTrustManager trust) {
        Material stamped(List<String> newer) {
            return new Material(newer, keys, trust);
        }
    }

    private PeerTls(Path caFile, Path certFile, Path keyFile, Consumer<String> warnings) {
        this.caFile = caFile;
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.warnings = warnings;
        // fipsMode: only FIPS-approved cipher suites, groups and signature schemes.
        this.jsse = new BouncyCastleJsseProvider(true, Fips.provider());
        List<String> stamp = stamp();
        this.material = read(stamp);
        try {
            context = SSLContext.getInstance("TLS", jsse);
            context.init(new KeyManager[]{new ReloadingKeys()}, new TrustManager[]{new ReloadingTrust()},
                    Fips.random());
        } catch (GeneralSecurityException e) {
            throw new CryptoException("cannot set up peer TLS: " + e.getMessage(), e);
        }
    }

    /**
     * Reads the cluster CA, this node's certificate chain and its key (PEM files).
     *
     * @param warnings told when changed files cannot be used (the old ones stay in use)
     * @throws CryptoException naming the file and what is wrong with it
     */
    public static PeerTls load(Path caFile, Path certFile, Path keyFile, Consumer<String> warnings) {
        return new PeerTls(Objects.requireNonNull(caFile), Objects.requireNonNull(certFile),
                Objects.requireNonNull(keyFile), Objects.requireNonNull(warnings));
    }

    /** The context both sides use. */
    public SSLContext context() {
        return context;
    }

    /** Parameters for the listener: TLS 1.3 only, a client certificate required. */
    public SSLParameters serverParameters() {
        var p = new SSLParameters(null, new String[]{PROTOCOL});
        p.setNeedClientAuth(true);
        return p;
    }

    /** Parameters for the forwarding client: TLS 1.3 only. */
    public SSLParameters clientParameters() {
        return new SSLParameters(null, new String[]{PROTOCOL});
    }

    /** The files' material, read again first when any of them changed since the last reading. */
    private Material current() {
        Material m = material;
        List<String> now = stamp();
        if (now.equals(m.stamp())) {
            return m;
        }
        synchronized (this) {
            m = material;
            if (!now.equals(m.stamp())) {
                try {
                    m = read(now);
                } catch (CryptoException e) {
                    warnings.accept("peer TLS files changed but cannot be used, the previous ones stay in use until "
                            + "they change again: " + e.getMessage());
                    m = m.stamped(now);
                }
                material = m;
            }
            return m;
        }
    }

    /** Size, modification time and file identity of the three files; a missing file is its own stamp. */
    private List<String> stamp() {
        var out = new ArrayList<String>(3);
        for (Path p : List.of(caFile, certFile, keyFile)) {
            try {
                var a = Files.readAttributes(p, BasicFileAttributes.class);
                out.add(a.size() + "/" + a.lastModifiedTime().toMillis() + "/" + a.fileKey());
            } catch (IOException e) {
                out.add("unreadable: " + e.getMessage());
            }
        }
        return List.copyOf(out);
    }

    private Material read(List<String> stamp) {
        List<X509Certificate> anchors = certificates(caFile);
        for (X509Certificate ca : anchors) {
            if (ca.getBasicConstraints() < 0) {
                throw new CryptoException(caFile + ": " + ca.getSubjectX500Principal() + " is not a CA certificate");
            }
        }
        List<X509Certificate> chain = certificates(certFile);
        PrivateKey key = privateKey(keyFile);
        checkPair(key, chain.getFirst());
        try {
            byte[] secret = new byte[16];
            Fips.random().nextBytes(secret);
            // Only for the in-memory key store the key manager factory reads.
            char[] password = HexFormat.of().formatHex(secret).toCharArray();
            KeyStore own = KeyStore.getInstance("BCFKS", Fips.provider());
            own.load(null, null);
            own.setKeyEntry(ALIAS, key, password, chain.toArray(X509Certificate[]::new));
            var kmf = KeyManagerFactory.getInstance("PKIX", jsse);
            kmf.init(own, password);

            KeyStore trusted = KeyStore.getInstance("BCFKS", Fips.provider());
            trusted.load(null, null);
            for (int i = 0; i < anchors.size(); i++) {
                trusted.setCertificateEntry("ca-" + i, anchors.get(i));
            }
            var tmf = TrustManagerFactory.getInstance("PKIX", jsse);
            tmf.init(trusted);
            return new Material(stamp, (X509ExtendedKeyManager) kmf.getKeyManagers()[0],
                    (X509ExtendedTrustManager) tmf.getTrustManagers()[0]);
        } catch (GeneralSecurityException | IOException e) {
            throw new CryptoException("cannot build peer TLS from " + certFile + ", " + keyFile + " and " + caFile
                    + ": " + e.getMessage(), e);
        }
    }

    /** Every certificate of a PEM file, in order; at least one. */
    private static List<X509Certificate> certificates(Path file) {
        var out = new ArrayList<X509Certificate>();
        var converter = new JcaX509CertificateConverter().setProvider(Fips.provider());
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); var pem = new PEMParser(r)) {
            for (Object o = pem.readObject(); o != null; o = pem.readObject()) {
                if (!(o instanceof X509CertificateHolder h)) {
                    throw new CryptoException(file + ": holds a " + o.getClass().getSimpleName()
                            + ", expected only PEM certificates (BEGIN CERTIFICATE)");
                }
                out.add(converter.getCertificate(h));
            }
        } catch (IOException | CertificateException e) {
            throw new CryptoException("cannot read certificates from " + file + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new CryptoException(file + ": no PEM certificate (BEGIN CERTIFICATE) in it");
        }
        return out;
    }

    /** The one private key of a PEM file: PKCS#8 (BEGIN PRIVATE KEY) or a traditional EC/RSA key pair. */
    private static PrivateKey privateKey(Path file) {
        var converter = new JcaPEMKeyConverter().setProvider(Fips.provider());
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); var pem = new PEMParser(r)) {
            Object o = pem.readObject();
            return switch (o) {
                case PrivateKeyInfo info -> converter.getPrivateKey(info);
                case PEMKeyPair pair -> converter.getPrivateKey(pair.getPrivateKeyInfo());
                case null -> throw new CryptoException(file + ": no PEM private key in it");
                default -> throw new CryptoException(file + ": holds a " + o.getClass().getSimpleName()
                        + ", expected an unencrypted private key (BEGIN PRIVATE KEY)");
            };
        } catch (IOException e) {
            throw new CryptoException("cannot read the private key from " + file + ": " + e.getMessage(), e);
        }
    }

    /** Fails unless {@code key} signs what {@code cert}'s public key verifies. */
    private void checkPair(PrivateKey key, X509Certificate cert) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new CryptoException(keyFile + ": a " + key.getAlgorithm()
                    + " key; peer TLS takes EC, RSA or Ed25519 keys");
        };
        try {
            byte[] probe = new byte[32];
            Fips.random().nextBytes(probe);
            Signature s = Signature.getInstance(algorithm, Fips.provider());
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(probe);
            if (s.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            throw new CryptoException(keyFile + " does not match " + certFile + " (" + cert.getSubjectX500Principal()
                    + "): " + e.getMessage(), e);
        }
        throw new CryptoException(keyFile + " is not the key of " + certFile + " (" + cert.getSubjectX500Principal()
                + ")");
    }

    /** This node's key and chain, as the files hold them at the handshake. */
    private final class ReloadingKeys extends X509ExtendedKeyManager {
        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return current().keys().getClientAliases(keyType, issuers);
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return current().keys().chooseClientAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return current().keys().chooseEngineClientAlias(keyType, issuers, engine);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return current().keys().getServerAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return current().keys().chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return current().keys().chooseEngineServerAlias(keyType, issuers, engine);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return material.keys().getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return material.keys().getPrivateKey(alias);
        }
    }

    /**
     * The cluster CA, as the file holds it at the handshake. The chain is checked against the
     * anchors (validity, signatures, key usage); the peer's host name is not.
     */
    private final class ReloadingTrust extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            current().trust().checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            current().trust().checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            current().trust().checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            current().trust().checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            current().trust().checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            current().trust().checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return current().trust().getAcceptedIssuers();
        }
    }
}
