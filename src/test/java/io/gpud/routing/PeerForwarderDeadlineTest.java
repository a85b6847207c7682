package io.gpud.routing;

import com.sun.net.httpserver.HttpServer;
import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.metrics.MetricRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A forward to a frozen peer gives up at its deadline and the next peer serves the request:
 * real loopback sockets that accept and never answer, or answer headers and then stall.
 */
class PeerForwarderDeadlineTest {

    /** What the test waits at most; the forward must finish far sooner. */
    private static final Duration BOUND = Duration.ofSeconds(20);

    private final List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (Socket s : accepted) {
            s.close();
        }
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    /** A peer that accepts connections, reads nothing, answers nothing. */
    private int frozenPeer() throws IOException {
        return stallingPeer(null);
    }

    /** A peer that accepts, reads the request's first bytes, sends {@code head} (if any) and then stalls. */
    private int stallingPeer(String head) throws IOException {
        var server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        open.add(server);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.add(s);
                    if (head != null) {
                        s.getInputStream().read(new byte[4096]);
                        s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                    }
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server.getLocalPort();
    }

    /** A real HTTP server that answers every request with 200 and "served by good". */
    private int goodPeer() throws IOException {
        var server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            try (exchange; InputStream in = exchange.getRequestBody()) {
                in.readAllBytes();
                byte[] body = "served by good".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("content-type", "text/plain");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
        });
        server.start();
        open.add(() -> server.stop(0));
        return server.getAddress().getPort();
    }

    private static RoutingConfig config() {
        return RoutingConfig.defaults().withForwardDeadlines(Duration.ofSeconds(1), Duration.ofSeconds(1));
    }

    private record Answer(PeerForwarder.Outcome outcome, int status, String body, long millis) {
    }

    private static Answer forward(PeerForwarder forwarder, int first, int second) {
        var decision = new RouteDecision.Forward(List.of(
                new RouteDecision.Target("frozen", "r", "127.0.0.1", first, 1),
                new RouteDecision.Target("good", "r", "127.0.0.1", second, 1)), 0, null);
        var request = new PeerForwarder.Request("POST", "/v1/completions",
                "{\"model\":\"m\",\"prompt\":\"hi\"}".getBytes(StandardCharsets.UTF_8), Map.of());
        var out = new ByteArrayOutputStream();
        int[] status = {0};
        long start = System.nanoTime();
        PeerForwarder.Outcome outcome = forwarder.forward(decision, request, new PeerForwarder.ResponseSink() {
            @Override
            public OutputStream begin(int s, Map<String, String> headers) {
                status[0] = s;
                return out;
            }

            @Override
            public void whole(int s, Map<String, String> headers, byte[] body) throws IOException {
                status[0] = s;
                out.write(body);
            }
        });
        return new Answer(outcome, status[0], out.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - start) / 1_000_000);
    }

    private PeerForwarder forwarder(MetricRegistry registry) {
        return forwarder(config(), new RoutingMetrics(registry));
    }

    private PeerForwarder forwarder(RoutingConfig routing, RoutingMetrics metrics) {
        var router = new Router(routing, new SimCandidates("front", "r"), null, MonotonicClock.system(),
                new Random(1), metrics);
        var forwarder = new PeerForwarder("front", router, Optional.empty(), metrics);
        open.add(forwarder);
        return forwarder;
    }

    private void assertServedByTheNextPeer(int stalled) throws IOException {
        int good = goodPeer();
        var registry = new MetricRegistry();
        PeerForwarder forwarder = forwarder(registry);
        Answer a = assertTimeoutPreemptively(BOUND, () -> forward(forwarder, stalled, good),
                "the forward still waits on the stalled peer after " + BOUND.toSeconds() + " s");
        var delivered = assertInstanceOf(PeerForwarder.Outcome.Delivered.class, a.outcome(), a.toString());
        assertEquals("good", delivered.node(), a.toString());
        assertEquals(2, delivered.attempts(), a.toString());
        assertEquals(200, a.status());
        assertEquals("served by good", a.body());
        assertTrue(a.millis() < 5_000, "took " + a.millis() + " ms with a 1 s deadline");
        String scrape = registry.scrape();
        assertTrue(scrape.contains("gpud_route_forward_attempts_total{result=\"timeout\"} 1"), scrape);
        System.out.printf("stalled peer given up and the next one served in %d ms%n", a.millis());
    }

    @Test
    void aPeerThatAcceptsAndNeverAnswersIsGivenUpAtTheDeadline() throws IOException {
        assertServedByTheNextPeer(frozenPeer());
    }

    @Test
    void aPeerThatSendsHeadersOfAStreamThenStallsIsGivenUpBeforeTheClientSeesAByte() throws IOException {
        assertServedByTheNextPeer(stallingPeer("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                + "transfer-encoding: chunked\r\n\r\n"));
    }

    @Test
    void aPeerThatSendsHeadersWithALengthThenStallsIsGivenUpBeforeTheClientSeesAByte() throws IOException {
        assertServedByTheNextPeer(stallingPeer("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + "content-length: 100\r\n\r\n{\"par"));
    }

    @Test
    void aStreamThatStallsAfterItsFirstBytesReachedTheClientEndsAtTheIdleDeadline() throws IOException {
        int stalled = stallingPeer("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                + "transfer-encoding: chunked\r\n\r\n6\r\ndata: \r\n");
        int good = goodPeer();
        var registry = new MetricRegistry();
        PeerForwarder forwarder = forwarder(registry);
        Answer a = assertTimeoutPreemptively(BOUND, () -> forward(forwarder, stalled, good),
                "the forward still waits on the stalled stream after " + BOUND.toSeconds() + " s");
        var broken = assertInstanceOf(PeerForwarder.Outcome.Broken.class, a.outcome(), a.toString());
        assertEquals("frozen", broken.node());
        assertTrue(broken.reason().contains("routing.idleTimeout"), broken.reason());
        assertEquals(200, a.status());
        assertEquals("data: ", a.body(), "what reached the client before the stall");
        assertTrue(a.millis() < 5_000, "took " + a.millis() + " ms with a 1 s deadline");
    }

    /** A real HTTP server that answers every request with a stream of {@code bytes} bytes, as fast as it is taken. */
    private int streamingPeer(int bytes) throws IOException {
        var server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            try (exchange; InputStream in = exchange.getRequestBody()) {
                in.readAllBytes();
                exchange.getResponseHeaders().add("content-type", "text/event-stream");
                exchange.sendResponseHeaders(200, 0);
                byte[] piece = "data: token\n\n".repeat(1024).getBytes(StandardCharsets.US_ASCII);
                OutputStream out = exchange.getResponseBody();
                for (int sent = 0; sent < bytes; sent += piece.length) {
                    out.write(piece, 0, Math.min(piece.length, bytes - sent));
                }
            }
        });
        server.start();
        open.add(() -> server.stop(0));
        return server.getAddress().getPort();
    }

    /** The client's end of a forwarded answer: a socket whose writes record since when one has been blocked. */
    private static final class StalledWrites extends OutputStream {
        private final OutputStream out;
        /** When the write in progress began (System.nanoTime), or 0 when none is. */
        private volatile long writingSince;

        StalledWrites(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            writingSince = System.nanoTime();
            try {
                out.write(b, off, len);
            } finally {
                writingSince = 0;
            }
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }

        boolean blockedFor(Duration d) {
            long since = writingSince;
            return since != 0 && System.nanoTime() - since > d.toNanos();
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + BOUND.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within " + BOUND.toSeconds() + " s: " + what);
            Thread.sleep(20);
        }
    }

    @Test
    void aClientThatStopsReadingPastTheIdleDeadlineIsNoFailureOfThePeer() throws Exception {
        int bytes = 8 << 20;
        int peer = streamingPeer(bytes);
        var d = config();
        // One failure opens the circuit: a stalled client counted against the peer would show at once.
        var routing = new RoutingConfig(d.enabled(), d.weightLoad(), d.weightLatency(), d.weightAffinity(),
                d.latencyCeiling(), d.staleLoadAfter(), d.crossRegionPenalty(), d.choices(), d.maxAttempts(),
                d.connectTimeout(), 1, Duration.ofMinutes(1), false, List.of(), d.firstByteTimeout(),
                d.idleTimeout(), d.peerTls());
        var registry = new MetricRegistry();
        PeerForwarder forwarder = forwarder(routing, new RoutingMetrics(registry));

        // The client: a small receive buffer it does not read from while the answer streams.
        var listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        open.add(listener);
        var client = new Socket();
        open.add(client);
        client.setReceiveBufferSize(4096);
        client.connect(listener.getLocalSocketAddress());
        Socket toClient = listener.accept();
        accepted.add(toClient);
        toClient.setSendBufferSize(4096);
        var sink = new StalledWrites(toClient.getOutputStream());
        var decision = new RouteDecision.Forward(List.of(new RouteDecision.Target("peer", "r", "127.0.0.1", peer, 1)),
                0, null);
        var request = new PeerForwarder.Request("POST", "/v1/completions",
                "{\"model\":\"m\",\"prompt\":\"hi\",\"stream\":true}".getBytes(StandardCharsets.UTF_8), Map.of());
        CompletableFuture<PeerForwarder.Outcome> outcome = CompletableFuture.supplyAsync(
                () -> forwarder.forward(decision, request, new PeerForwarder.ResponseSink() {
                    @Override
                    public OutputStream begin(int status, Map<String, String> headers) {
                        return sink;
                    }

                    @Override
                    public void whole(int status, Map<String, String> headers, byte[] body) throws IOException {
                        sink.write(body);
                        sink.close();
                    }
                }), Executors.newVirtualThreadPerTaskExecutor());

        Duration stall = routing.idleTimeout().multipliedBy(2);
        await("a write to the client blocked for " + stall.toMillis() + " ms", () -> sink.blockedFor(stall));
        client.setSoTimeout((int) BOUND.toMillis());
        long received = client.getInputStream().transferTo(OutputStream.nullOutputStream());

        PeerForwarder.Outcome o = outcome.get(BOUND.toSeconds(), TimeUnit.SECONDS);
        String scrape = registry.scrape();
        var delivered = assertInstanceOf(PeerForwarder.Outcome.Delivered.class, o,
                "a client stalled for " + stall.toMillis() + " ms with a " + routing.idleTimeout().toMillis()
                        + " ms idle deadline; received " + received + " of " + bytes + " bytes; " + o);
        assertEquals("peer", delivered.node());
        assertEquals(bytes, received, "the whole answer reached the client once it read again");
        assertTrue(!scrape.contains("gpud_route_circuits_opened_total{peer=\"peer\"}"),
                "the peer's circuit opened for the client's stall:\n" + scrape);
        assertTrue(!scrape.contains("result=\"timeout\""), scrape);
    }
}
