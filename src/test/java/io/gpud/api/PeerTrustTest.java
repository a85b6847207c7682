package io.gpud.api;

import io.gpud.config.RoutingConfig;
import io.gpud.enclave.crypto.ClusterCaFixture;
import io.gpud.enclave.crypto.PeerTls;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.net.InetAddress;
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
