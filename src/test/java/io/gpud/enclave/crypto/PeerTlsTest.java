package io.gpud.enclave.crypto;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Peer TLS on its own: handshakes between two contexts over loopback sockets, and the files it reads. */
class PeerTlsTest {

    @TempDir
    Path dir;

    private PeerTls node(ClusterCaFixture ca, String name, List<String> warnings) throws IOException {
        var files = ca.issue(dir, name);
        Path caFile = dir.resolve(name + "-ca.pem");
        if (!Files.exists(caFile)) {
            ClusterCaFixture.writeCaFile(caFile, ca);
        }
        return PeerTls.load(caFile, files.cert(), files.key(), warnings::add);
    }

    /** One exchange: the client writes a byte, the server echoes it; returns the client's protocol. */
    private static String exchange(PeerTls server, PeerTls client) throws Exception {
        try (var executor = Executors.newVirtualThreadPerTaskExecutor();
             var listener = (SSLServerSocket) server.context().getServerSocketFactory().createServerSocket(0, 5,
                     InetAddress.getLoopbackAddress())) {
            listener.setSSLParameters(server.serverParameters());
            Future<Integer> served = executor.submit(() -> {
                try (var s = listener.accept()) {
                    int b = s.getInputStream().read();
                    s.getOutputStream().write(b);
                    s.getOutputStream().flush();
                    return b;
                }
            });
            try (var s = (SSLSocket) client.context().getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                    listener.getLocalPort())) {
                s.setSSLParameters(client.clientParameters());
                s.setSoTimeout(10_000);
                s.getOutputStream().write(42);
                s.getOutputStream().flush();
                int echoed = s.getInputStream().read();
                if (echoed != 42) {
                    throw new IOException("the server did not echo: " + echoed);
                }
                assertEquals(42, served.get(10, TimeUnit.SECONDS));
                return s.getSession().getProtocol();
            }
        }
    }

    @Test
    void nodesOfOneClusterCaShakeHandsOverTls13() throws Exception {
        var ca = new ClusterCaFixture("cluster");
        var warnings = new CopyOnWriteArrayList<String>();
        PeerTls a = node(ca, "a", warnings);
        assertEquals("TLSv1.3", exchange(a, node(ca, "b", warnings)));
        assertEquals(List.of(), warnings);
        assertTrue(Fips.approvedOnly(), "Bouncy Castle FIPS in approved-only mode");
        assertTrue(((BouncyCastleJsseProvider) a.context().getProvider()).isFipsMode(), "the JSSE provider in FIPS mode");
    }

    @Test
    void nodesOfDifferentClusterCasCannotTalk() throws Exception {
        var warnings = new CopyOnWriteArrayList<String>();
        PeerTls a = node(new ClusterCaFixture("cluster-a"), "a", warnings);
        PeerTls b = node(new ClusterCaFixture("cluster-b"), "b", warnings);
        assertThrows(Exception.class, () -> exchange(a, b));
        assertThrows(Exception.class, () -> exchange(b, a));
    }

    @Test
    void badFilesAreRefusedWithTheFileNamed() throws IOException {
        var ca = new ClusterCaFixture("cluster");
        var a = ca.issue(dir, "a");
        var b = ca.issue(dir, "b");
        Path caFile = ClusterCaFixture.writeCaFile(dir.resolve("ca.pem"), ca);
        var mismatch = assertThrows(CryptoException.class, () -> PeerTls.load(caFile, a.cert(), b.key(), w -> { }));
        assertTrue(mismatch.getMessage().contains("b.key is not the key of"), mismatch.getMessage());
        var notCa = assertThrows(CryptoException.class, () -> PeerTls.load(a.cert(), a.cert(), a.key(), w -> { }));
        assertTrue(notCa.getMessage().contains("is not a CA certificate"), notCa.getMessage());
        Files.writeString(dir.resolve("empty.pem"), "");
        var empty = assertThrows(CryptoException.class, () -> PeerTls.load(dir.resolve("empty.pem"), a.cert(), a.key(),
                w -> { }));
        assertTrue(empty.getMessage().contains("empty.pem: no PEM certificate"), empty.getMessage());
    }

    @Test
    void aCaRotationNeedsNoRestart() throws Exception {
        var oldCa = new ClusterCaFixture("cluster-2024");
        var newCa = new ClusterCaFixture("cluster-2025");
        var warnings = new CopyOnWriteArrayList<String>();
        PeerTls a = node(oldCa, "a", warnings);
        PeerTls b = node(oldCa, "b", warnings);
        assertEquals("TLSv1.3", exchange(a, b));
        // b gets a certificate of the new CA before anyone trusts it: refused.
        newCa.issue(dir, "b");
        assertThrows(Exception.class, () -> exchange(a, b));
        // Both CAs trusted on both sides: the same contexts, no restart, talk again.
        ClusterCaFixture.writeCaFile(dir.resolve("a-ca.pem"), oldCa, newCa);
        ClusterCaFixture.writeCaFile(dir.resolve("b-ca.pem"), oldCa, newCa);
        assertEquals("TLSv1.3", exchange(a, b));
        assertEquals("TLSv1.3", exchange(b, a));
        // a moves to the new CA too, and the old one is dropped everywhere.
        newCa.issue(dir, "a");
        ClusterCaFixture.writeCaFile(dir.resolve("a-ca.pem"), newCa);
        ClusterCaFixture.writeCaFile(dir.resolve("b-ca.pem"), newCa);
        assertEquals("TLSv1.3", exchange(a, b));
        assertEquals(List.of(), warnings);
        // A key that does not match its certificate keeps the previous pair in use, and says so.
        Files.copy(dir.resolve("b.key"), dir.resolve("a.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertEquals("TLSv1.3", exchange(a, b));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains("a.key"), warnings.toString());
    }
}
