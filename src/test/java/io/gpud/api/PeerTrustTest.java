package io.gpud.api;

import io.gpud.config.RoutingConfig;
import io.gpud.enclave.crypto.ClusterCaFixture;
import io.gpud.enclave.crypto.PeerTls;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Who is a peer: forwards run over mutual TLS 1.3 between nodes of one cluster CA and fail
 * between clusters; {@code x-gpud-forwarded-by} from a client on the data port is ignored.
 */
class PeerTrustTest {

    private static final String BODY = "{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":4}";

    @TempDir
    Path dir;

    private final List<String> warnings = new CopyOnWriteArrayList<>();

    private PeerTls tls(ClusterCaFixture ca, String node) throws IOException {
        var files = ca.issue(dir, node);
        Path caFile = ClusterCaFixture.writeCaFile(dir.resolve(node + "-ca.pem"), ca);
        return PeerTls.load(caFile, files.cert(), files.key(), warnings::add);
    }

    private static HttpResponse<String> complete(SimCluster.SimNode entry, String... headers) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + entry.port() + "/v1/completions"))
                .timeout(Duration.ofSeconds(30)).header("content-type", "application/json");
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return HttpClient.newHttpClient().send(request.POST(HttpRequest.BodyPublishers.ofString(BODY)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The protocol of a handshake with {@code node}'s peer listener, as {@code client} shakes hands. */
    private static String handshake(PeerTls client, SimCluster.SimNode node, SSLParameters parameters)
            throws IOException {
        try (var s = (SSLSocket) client.context().getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                node.server.peerPort())) {
            s.setSSLParameters(parameters);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /none HTTP/1.1\r\nhost: peer\r\nconnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String answer = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            if (answer == null || !answer.startsWith("HTTP/1.1 404")) {
                throw new IOException("no HTTP answer over TLS: '" + answer + "'");
            }
            return s.getSession().getProtocol();
        }
    }

    private static String attempts(SimCluster.SimNode node, String result) {
        return node.registry.scrape().lines()
                .filter(l -> l.startsWith("gpud_route_forward_attempts_total{result=\"" + result + "\"}"))
                .findFirst().orElse("none");
    }

    @Test
    void nodesOfOneClusterCaForwardOverTls13() throws Exception {
        var ca = new ClusterCaFixture("cluster");
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            SimCluster.SimNode s1 = cluster.add("s1", "r", RoutingConfig.defaults(), Optional.of(tls(ca, "s1")));
            PeerTls frontTls = tls(ca, "front");
            SimCluster.SimNode front = cluster.add("front", "r", RoutingConfig.defaults(), Optional.of(frontTls));
            front.servesModel = false;

            HttpResponse<String> r = complete(front);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("s1", r.headers().firstValue("x-gpud-node").orElse(null), "forwarded to the peer");
            assertEquals(1, s1.engine.submitted.size());
            assertEquals("gpud_route_forward_attempts_total{result=\"ok\"} 1.0", attempts(front, "ok"));

            assertEquals("TLSv1.3", handshake(frontTls, s1, frontTls.clientParameters()));
            var tls12 = new SSLParameters(null, new String[]{"TLSv1.2"});
            assertThrows(IOException.class, () -> handshake(frontTls, s1, tls12), "TLS 1.2 is refused");
            assertEquals(List.of(), warnings);
        }
    }

    /**
     * Seconds until the server closes {@code socket} (end of stream or a reset); fails when it
     * is still open after {@code limitSeconds}.
     */
    private static double secondsUntilClosed(Socket socket, long startNanos, int limitSeconds) throws IOException {
        socket.setSoTimeout(limitSeconds * 1000);
        try {
            int read = socket.getInputStream().read();
            assertEquals(-1, read, "the peer listener answered a client that sent no ClientHello");
        } catch (SocketTimeoutException stillOpen) {
            fail("the peer listener still holds a connection that never finished its handshake after "
                    + limitSeconds + " s");
        } catch (SocketException reset) {
            // closed with a reset: as good as an end of stream
        }
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /**
     * The peer listener's TLS handshake runs inside the connection's first reads, under
     * api.headerTimeout (10 s here): a client with no certificate that sends nothing, or a
     * ClientHello a byte at a time, does not keep its slot and descriptor.
     */
    @Test
    void aClientThatNeverFinishesTheTlsHandshakeIsCutAndForwardsStillWork() throws Exception {
        var ca = new ClusterCaFixture("cluster");
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            SimCluster.SimNode s1 = cluster.add("s1", "r", RoutingConfig.defaults(), Optional.of(tls(ca, "s1")));
            SimCluster.SimNode front = cluster.add("front", "r", RoutingConfig.defaults(), Optional.of(tls(ca, "front")));
            front.servesModel = false;
            InetAddress loopback = InetAddress.getLoopbackAddress();

            long start = System.nanoTime();
            try (var silent = new Socket(loopback, s1.server.peerPort());
                 var trickler = new Socket(loopback, s1.server.peerPort())) {
                // A handshake record that declares 256 bytes, sent a byte at a time: each read
                // gets something, only the whole handshake has a deadline.
                byte[] hello = new byte[64];
                System.arraycopy(new byte[]{0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, (byte) 0xfc, 0x03, 0x03},
                        0, hello, 0, 11);
                Thread trickle = Thread.ofVirtual().start(() -> {
                    try {
                        for (byte b : hello) {
                            trickler.getOutputStream().write(b);
                            trickler.getOutputStream().flush();
                            Thread.sleep(200);
                        }
                    } catch (IOException | InterruptedException cut) {
                        // the server closed it: what this test waits for
                    }
                });
                double silentCut = secondsUntilClosed(silent, start, 30);
                double trickleCut = secondsUntilClosed(trickler, start, 30);
                trickle.join();
                assertTrue(silentCut < 15 && trickleCut < 15,
                        "cut after " + silentCut + " s (silent) and " + trickleCut + " s (trickling)");
            }

            HttpResponse<String> r = complete(front);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("s1", r.headers().firstValue("x-gpud-node").orElse(null), "forwarded to the peer");
            assertEquals("gpud_route_forward_attempts_total{result=\"ok\"} 1.0", attempts(front, "ok"));
        }
    }

    @Test
    void nodesOfDifferentClusterCasCannotForwardToEachOther() throws Exception {
        var ours = new ClusterCaFixture("cluster-a");
        var theirs = new ClusterCaFixture("cluster-b");
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            SimCluster.SimNode other = cluster.add("other", "r", RoutingConfig.defaults(),
                    Optional.of(tls(theirs, "other")));
            SimCluster.SimNode front = cluster.add("front", "r", RoutingConfig.defaults(),
                    Optional.of(tls(ours, "front")));
            front.servesModel = false;

            // The router picks "other"; its certificate is not of our CA, so the handshake fails
            // and the front node, which takes work, serves the request itself.
            HttpResponse<String> r = complete(front);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("front", r.headers().firstValue("x-gpud-node").orElse(null));
            assertEquals(0, other.engine.submitted.size(), "nothing reached the other cluster's node");
            assertEquals("gpud_route_forward_attempts_total{result=\"tls_failed\"} 1.0", attempts(front, "tls_failed"));

            // The other direction, checked by the listener: a client that trusts our CA but shows
            // a certificate of another is refused.
            var intruderFiles = theirs.issue(dir, "intruder");
            PeerTls intruder = PeerTls.load(dir.resolve("front-ca.pem"), intruderFiles.cert(), intruderFiles.key(),
                    warnings::add);
            assertThrows(IOException.class, () -> handshake(intruder, front, intruder.clientParameters()));
        }
    }

    @Test
    void withPeerTlsAClientSendingTheHopHeaderToTheDataPortIsRoutedLikeAnyClient() throws Exception {
        var ca = new ClusterCaFixture("cluster");
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            cluster.add("s1", "r", RoutingConfig.defaults(), Optional.of(tls(ca, "s1")));
            SimCluster.SimNode front = cluster.add("front", "r", RoutingConfig.defaults(), Optional.of(tls(ca, "front")));
            front.servesModel = false;

            HttpResponse<String> r = complete(front, "x-gpud-forwarded-by", "evil");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("s1", r.headers().firstValue("x-gpud-node").orElse(null),
                    "a client's x-gpud-forwarded-by skipped routing");
        }
    }

    @Test
    void withoutPeerTlsTheHopHeaderOnTheDataPortStillStopsASecondHop() throws Exception {
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            cluster.add("s1", "r", RoutingConfig.defaults());
            SimCluster.SimNode front = cluster.add("front", "r", RoutingConfig.defaults());
            front.servesModel = false;

            assertEquals("s1", complete(front).headers().firstValue("x-gpud-node").orElse(null));
            assertEquals("front", complete(front, "x-gpud-forwarded-by", "s1").headers().firstValue("x-gpud-node")
                    .orElse(null), "an insecure cluster trusts the header on the data port");
        }
    }
}
