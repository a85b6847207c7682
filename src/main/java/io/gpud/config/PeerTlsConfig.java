package io.gpud.config;

import java.nio.file.Path;

/**
 * Mutual TLS between peers ({@code routing.peerTls}): forwarded requests go to a peer's own
 * listener on {@link #port()}, over TLS 1.3, and each side must present a certificate the
 * cluster CA issued. The three files are read again for new connections when they change,
 * so certificates and CAs rotate without a restart.
 *
 * @param port     the peer listener's port, gossiped to the cluster (0 picks a free one)
 * @param caFile   the cluster CA: PEM certificates, every one a trust anchor (during a
 *                 rotation, the old and the new CA); unset: no peer TLS
 * @param certFile this node's certificate, issued by the cluster CA, then any intermediates (PEM)
 * @param keyFile  its private key (PEM, unencrypted PKCS#8 or EC/RSA; EC, RSA or Ed25519)
 */
public record PeerTlsConfig(int port, Path caFile, Path certFile, Path keyFile) {

    /** The default peer listener port. */
    public static final int DEFAULT_PORT = 8401;

    public PeerTlsConfig {
        Validate.port("routing.peerTls.port", port);
        if ((caFile == null) != (certFile == null) || (caFile == null) != (keyFile == null)) {
            throw new ConfigException("routing.peerTls: caFile, certFile and keyFile are set together or not at all "
                    + "(caFile was " + caFile + ", certFile " + certFile + ", keyFile " + keyFile + ")");
        }
    }

    /** True when the files are given: forwards go over mutual TLS. */
    public boolean configured() {
        return caFile != null;
    }

    /** Port 8401, no files: no peer TLS. */
    public static PeerTlsConfig defaults() {
        return new PeerTlsConfig(DEFAULT_PORT, null, null, null);
    }
}
