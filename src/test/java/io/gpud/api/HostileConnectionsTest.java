package io.gpud.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.gpud.config.ApiConfig;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The data plane's limits on what one client may hold: connections per client address, the
 * time a request body may take to arrive, and the body memory every failed read gives back.
 */
class HostileConnectionsTest extends ApiServerTestBase {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** Restarts the server with these connection limits and deadlines. */
    private void restart(int perClient, Duration header, Duration body, Duration idle) {
        server.stop();
        var config = new ApiConfig("127.0.0.1", 0, 0, MAX_BODY, MAX_DEPTH, Duration.ofSeconds(2), 64, perClient,
                1L << 20, header, body, idle);
        server = new ApiServer(ApiServer.Dependencies.local(config, node, () -> List.copyOf(engines),
                new MetricRegistry(), DEFAULT_MAX_TOKENS)).start();
    }

    /** Restarts the server with this body cap and body memory, 100 connections, 100 per client. */
    private void restartWithBodyMemory(long maxBody, long bodyMemory) {
        server.stop();
        var config = new ApiConfig("127.0.0.1", 0, 0, maxBody, MAX_DEPTH, Duration.ofSeconds(2), 100, 100,
                bodyMemory, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(30));
        server = new ApiServer(ApiServer.Dependencies.local(config, node, () -> List.copyOf(engines),
                new MetricRegistry(), DEFAULT_MAX_TOKENS)).start();
    }

    /**
     * Opens {@code count} connections from 127.0.0.1 that each send a POST's headers
     * declaring {@code length} bytes of body, then nothing, and waits until the server has
     * stopped taking body memory for them (each is read, or refused).
     */
    private List<Socket> idleBodies(int count, long length) throws Exception {
        List<Socket> held = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            var s = new Socket("127.0.0.1", server.port());
            s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    + "\r\nContent-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            held.add(s);
        }
        long last = -1;
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.bodyBytesHeld() != last && System.nanoTime() < deadline) {
            last = server.bodyBytesHeld();
            Thread.sleep(200);
        }
        return held;
    }

    /** A small completion POSTed from 127.0.0.2, another client than the flooding one. */
    private String smallPostFromAnotherClient() throws IOException {
        try (var s = new Socket()) {
            s.bind(new java.net.InetSocketAddress("127.0.0.2", 0));
            s.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout(10_000);
            String body = "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":2}";
            s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    + "\r\nConnection: close\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.US_ASCII));
            return RawHttp.readToClose(s);
        }
    }

    @Test
    void idleConnectionsDeclaringLargeBodiesDoNotTakeAnotherClientsBodyMemory() throws Exception {
        // 8 MiB of body memory: eight 1 MiB declarations would have reserved all of it
        restartWithBodyMemory(1L << 20, 8L << 20);
        List<Socket> held = idleBodies(8, (1L << 20) - 1);
        try {
            long heldBytes = server.bodyBytesHeld();
            assertTrue(heldBytes <= 8L * JsonBodies.STEP_BYTES, "idle declared bodies hold " + heldBytes
                    + " bytes before any byte of them arrived");
            String response = smallPostFromAnotherClient();
            assertEquals(200, RawHttp.statusOf(response), "another client's small POST, with " + heldBytes
                    + " bytes held by idle bodies:\n" + response);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        await("body bytes held once the idle connections closed", server::bodyBytesHeld, 0);
    }

    @Test
    void oneClientHoldsAtMostItsShareOfBodyMemory() throws Exception {
        // 64 KiB bodies, 4 MiB of body memory: 64 idle declarations would have held all of it
        restartWithBodyMemory(64 << 10, 4L << 20);
        List<Socket> held = idleBodies(64, (64 << 10) - 1);
        try {
            long heldBytes = server.bodyBytesHeld();
            assertTrue(heldBytes <= (4L << 20) / 2, "one client holds " + heldBytes + " bytes of body memory");
            String response = smallPostFromAnotherClient();
            assertEquals(200, RawHttp.statusOf(response), "another client's small POST, with " + heldBytes
                    + " bytes held by one client's idle bodies:\n" + response);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        await("body bytes held once the idle connections closed", server::bodyBytesHeld, 0);
    }

    @Test
    void behindAProxyProtocolBalancerConnectionsCountForTheClientItNames() throws Exception {
        server.stop();
        var config = new ApiConfig("127.0.0.1", 0, 0, MAX_BODY, MAX_DEPTH, Duration.ofSeconds(2), 64, 1,
                1L << 20, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(30));
        server = new ApiServer(new ApiServer.Dependencies(config, node, () -> List.copyOf(engines),
                new MetricRegistry(), DEFAULT_MAX_TOKENS, java.util.Optional.empty(), java.util.Optional.empty(), true,
                io.gpud.core.Time.system())).start();
        InetAddress client = InetAddress.ofLiteral("192.0.2.7");
        try (var s = new Socket("127.0.0.1", server.port())) {
            s.getOutputStream().write("PROXY TCP4 192.0.2.7 127.0.0.1 40000 8400\r\n".getBytes(StandardCharsets.US_ASCII));
            await("connections counted for the client the PROXY header names", () -> server.connectionsFrom(client), 1);
            assertEquals(0, server.connectionsFrom(LOOPBACK), "the balancer's own address was counted");
            // another client behind the same balancer is not refused by the first one's cap of 1
            String other = RawHttp.exchange(server.port(), ("PROXY TCP4 192.0.2.8 127.0.0.1 40001 8400\r\n"
                    + "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII), false);
            assertEquals(200, RawHttp.statusOf(other), other);
        }
        await("connections counted once closed", () -> server.connectionsFrom(client), 0);
    }

    /** Waits (at most 10 s) until {@code value} is {@code expected}; fails with {@code what} and the last value. */
    private static void await(String what, LongSupplier value, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (value.getAsLong() != expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(expected, value.getAsLong(), what);
    }

    private static String models() {
        return "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
    }

    @Test
    void aClientBeyondItsConnectionCapIsAnswered429AndClosed() throws Exception {
        restart(2, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(30));
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                held.add(new Socket("127.0.0.1", server.port()));
            }
            await("connections counted for the client", () -> server.connectionsFrom(LOOPBACK), 2);

            try (var third = new Socket("127.0.0.1", server.port())) {
                third.setSoTimeout(10_000);
                third.getOutputStream().write(models().getBytes(StandardCharsets.US_ASCII));
                String response = RawHttp.readToClose(third);
                assertEquals(429, RawHttp.statusOf(response), response);
                assertTrue(response.contains("Retry-After: 2"), response);
                assertTrue(response.contains("api.maxConnectionsPerClient"), response);
                assertFalse(response.contains("still open"), "the refused connection was kept open:\n" + response);
            }
            assertEquals(2, server.connectionsFrom(LOOPBACK), "a refused connection is not counted");

            held.removeFirst().close();
            await("connections counted after one closed", () -> server.connectionsFrom(LOOPBACK), 1);
            String served = RawHttp.exchange(server.port(), ("GET /v1/models HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII), false);
            assertEquals(200, RawHttp.statusOf(served), served);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        await("connections counted once all closed", () -> server.connectionsFrom(LOOPBACK), 0);
    }

    @Test
    void bodiesTrickledSlowerThanTheDeadlineAreCutWithOneLogLineAndNoServerError() throws Exception {
        restart(64, Duration.ofSeconds(5), Duration.ofMillis(1000), Duration.ofSeconds(10));
        var context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        var log = new ListAppender<ILoggingEvent>();
        log.setContext(context);
        log.start();
        root.addAppender(log);
        int clients = 4;
        List<Socket> open = new ArrayList<>();
        List<StringBuilder> received = new ArrayList<>();
        try {
            long started = System.nanoTime();
            for (int i = 0; i < clients; i++) {
                var s = new Socket("127.0.0.1", server.port());
                s.setSoTimeout(50);
                s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        + "\r\nContent-Length: 400\r\n\r\n{\"model\":\"fake\",\"prompt\":\"").getBytes(StandardCharsets.US_ASCII));
                open.add(s);
                received.add(new StringBuilder());
            }
            // One byte per connection every ~200 ms, for at most 20 s: each must be cut near 1 s.
            List<Socket> cut = new ArrayList<>();
            while (cut.size() < clients && System.nanoTime() - started < Duration.ofSeconds(20).toNanos()) {
                for (int i = 0; i < clients; i++) {
                    Socket s = open.get(i);
                    if (cut.contains(s)) {
                        continue;
                    }
                    try {
                        s.getOutputStream().write('x');
                        int b = s.getInputStream().read();
                        if (b == -1) {
                            cut.add(s);
                        } else {
                            received.get(i).append((char) b);
                        }
                    } catch (SocketTimeoutException stillOpen) {
                        // next byte
                    } catch (IOException reset) {
                        cut.add(s);
                    }
                }
                Thread.sleep(150);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            assertEquals(clients, cut.size(), "trickled bodies still being read after " + seconds + " s");
            assertTrue(seconds < 8, "cut only after " + seconds + " s");
            for (StringBuilder r : received) {
                assertFalse(r.toString().startsWith("HTTP/1.1 5"), "a server error for a slow client:\n" + r);
            }
            await("body bytes held after the cut bodies", server::bodyBytesHeld, 0);
        } finally {
            for (Socket s : open) {
                s.close();
            }
            root.detachAppender(log);
        }
        List<ILoggingEvent> events = List.copyOf(log.list);
        List<String> lines = events.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertEquals(1, lines.stream().filter(l -> l.startsWith("refused (body deadline)")).count(), lines.toString());
        assertTrue(lines.stream().filter(l -> l.startsWith("refused (aborted body)")).count() <= 1, lines.toString());
        assertTrue(events.stream().noneMatch(e -> e.getThrowableProxy() != null),
                "a stack trace was logged for a slow client: " + lines);
        assertStillServes();
    }

    @Test
    void everyBodyThatFailsMidReadGivesItsMemoryBack() throws Exception {
        String post = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
        // A body being read holds its declared length (and one byte) of the budget.
        try (var s = new Socket("127.0.0.1", server.port())) {
            s.getOutputStream().write((post + "Content-Length: 1000\r\n\r\n{\"model\":").getBytes(StandardCharsets.US_ASCII));
            await("body bytes held while a body is read", server::bodyBytesHeld, 1001);
            s.setSoLinger(true, 0); // a reset, not a close
        }
        await("body bytes held after a reset mid-body", server::bodyBytesHeld, 0);

        String[] failures = {
            post + "Content-Length: 100\r\n\r\n{\"model\":",                                   // cut short, then EOF
            post + "Content-Length: 9\r\n\r\n{\"model\":",                                     // not JSON
            post + "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"model\":\"fake\"}\r\nzz\r\n",  // a bad chunk size mid-body
            post + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(2 * MAX_BODY) + "\r\n"
                    + "x".repeat(2 * MAX_BODY) + "\r\n0\r\n\r\n",                             // over the cap mid-body
        };
        for (String request : failures) {
            String response = RawHttp.exchange(server.port(), request.getBytes(StandardCharsets.US_ASCII), true);
            int status = RawHttp.statusOf(response);
            assertTrue(status == -1 || (status >= 400 && status < 500), response);
            await("body bytes held after " + request.lines().skip(3).findFirst().orElse("") + " -> " + status,
                    server::bodyBytesHeld, 0);
        }
        assertStillServes();
        // the served request gives its memory back once its response is written
        await("body bytes held after a request served", server::bodyBytesHeld, 0);
    }

    @Test
    void aRequestStartedJustBeforeTheIdleDeadlineGetsTheWholeHeaderDeadline() throws Exception {
        restart(64, Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ofMillis(1000));
        try (var s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5_000);
            var out = s.getOutputStream();
            out.write(models().getBytes(StandardCharsets.US_ASCII));
            String first = readResponse(s);
            assertEquals(200, RawHttp.statusOf(first), first);
            // The connection idles 700 ms of its 1 s, then a request line arrives and its
            // headers trickle in until 1.5 s: past the idle deadline, well within the header one.
            Thread.sleep(700);
            try {
                out.write("GET /v1/models HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
                for (int i = 0; i < 4; i++) {
                    Thread.sleep(200);
                    out.write(("X-Line-" + i + ": y\r\n").getBytes(StandardCharsets.US_ASCII));
                }
                out.write("Host: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            } catch (IOException cut) {
                throw new AssertionError("the connection was cut while the request's headers were arriving", cut);
            }
            String second = RawHttp.readToClose(s);
            assertEquals(200, RawHttp.statusOf(second), "a request whose headers were arriving was cut as idle:\n"
                    + second);
        }
    }

    /** One response with a Content-Length body, read from a connection that stays open. */
    private static String readResponse(Socket s) throws IOException {
        var in = s.getInputStream();
        var text = new StringBuilder();
        while (!text.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b == -1) {
                return text.toString();
            }
            text.append((char) b);
        }
        var length = java.util.regex.Pattern.compile("(?i)content-length: (\\d+)").matcher(text);
        int remaining = length.find() ? Integer.parseInt(length.group(1)) : 0;
        text.append(new String(in.readNBytes(remaining), StandardCharsets.ISO_8859_1));
        return text.toString();
    }
}
