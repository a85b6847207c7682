package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Floods a daemon in its own JVM (started from the test class path, on loopback, with a
 * small heap or a low descriptor limit) the way a hostile network would, then checks that it
 * still serves: 700 connections each holding most of a 1 MiB body against a 256 MiB heap,
 * and more slow connections than the process has descriptors.
 */
class HostileNodeTest {

    private static final Pattern READY_LINE =
            Pattern.compile(" READY: data plane on 127\\.0\\.0\\.1:(\\d+), metrics on :(\\d+),");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path dir;

    /** A {@code gpud run --demo} in a JVM of its own; {@code shell} prefixes the command (a ulimit). */
    private record Node(Process process, Path log, int port, int metricsPort) implements AutoCloseable {
        String logText() throws IOException {
            return Files.readString(log, StandardCharsets.UTF_8);
        }

        HttpResponse<String> get(String path) throws IOException, InterruptedException {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        }

        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Node start(String shellPrefix, String... jvmFlags) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(List.of(jvmFlags));
        command.addAll(List.of("--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), "io.gpud.cli.Main", "run", "--demo", "--insecure-cluster",
                "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--gossip-port", "0",
                "--data-dir", dir.resolve("data").toString(), "--admin-socket", dir.resolve("admin.sock").toString()));
        var quoted = new StringBuilder(shellPrefix).append(" exec");
        for (String part : command) {
            quoted.append(" '").append(part.replace("'", "'\\''")).append('\'');
        }
        Path log = dir.resolve("daemon.log");
        Process p = new ProcessBuilder("bash", "-c", quoted.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            Matcher m = READY_LINE.matcher(text);
            if (m.find()) {
                return new Node(p, log, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("gpud exited with " + p.exitValue() + ":\n" + text);
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new IllegalStateException("gpud not ready in 60 s:\n" + Files.readString(log, StandardCharsets.UTF_8));
    }

    /** Waits until {@code /health/ready} answers 200, for at most {@code timeout}; the last failure otherwise. */
    private static String awaitServing(Node node, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                var r = node.get("/health/ready");
                if (r.statusCode() == 200) {
                    return null;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(200);
        }
        return last;
    }

    @Test
    void sevenHundredConnectionsHoldingMostOfAMegabyteBodyDoNotExhaustA256MiBHeap() throws Exception {
        try (Node node = start("", "-Xmx256m")) {
            int body = 1_000_000;
            String head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body + "\r\n\r\n{\"model\":\"gpud-demo\",\"prompt\":\"";
            byte[] chunk = "x".repeat(64 << 10).getBytes(StandardCharsets.US_ASCII);
            List<Socket> held = new ArrayList<>();
            long started = System.nanoTime();
            int refused = 0;
            try {
                for (int i = 0; i < 700; i++) {
                    var s = new Socket();
                    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 2000);
                    held.add(s);
                    try {
                        var out = s.getOutputStream();
                        out.write(head.getBytes(StandardCharsets.US_ASCII));
                        // all of the body but its last 100 bytes, then hold the connection
                        for (int sent = head.length(); sent < body - 100; sent += chunk.length) {
                            out.write(chunk, 0, Math.min(chunk.length, body - 100 - sent));
                        }
                        out.flush();
                    } catch (IOException answeredAndClosed) {
                        refused++;
                    }
                }
                double seconds = (System.nanoTime() - started) / 1e9;
                String stillDown = awaitServing(node, Duration.ofSeconds(20));
                assertEquals(null, stillDown, "the node does not serve while 700 connections hold bodies ("
                        + refused + " refused mid-write, flood took " + seconds + " s):\n" + tail(node));
                assertTrue(node.process().isAlive(), "the node died:\n" + tail(node));
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            assertEquals(null, awaitServing(node, Duration.ofSeconds(20)), tail(node));
            assertFalse(node.logText().contains("OutOfMemoryError"), tail(node));
        }
    }

    /**
     * Whole 1 MiB bodies of empty JSON objects, sent at once from many connections: each
     * parses to some thirty times its size in heap, so what a body costs after parsing must
     * be bounded and paid for before the parse, not only its bytes.
     */
    @Test
    void denseJsonBodiesParsedAtOnceDoNotExhaustA256MiBHeap() throws Exception {
        try (Node node = start("", "-Xmx256m", "-XX:ActiveProcessorCount=16")) {
            var body = new StringBuilder("{\"model\":\"gpud-demo\",\"messages\":[{}");
            while (body.length() < 1_000_000) {
                body.append(",{}");
            }
            byte[] json = body.append("]}").toString().getBytes(StandardCharsets.US_ASCII);
            byte[] head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Connection: close\r\nContent-Length: " + json.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            int senders = 48;
            int rounds = 3;
            List<String> statuses = java.util.Collections.synchronizedList(new ArrayList<>());
            long started = System.nanoTime();
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(senders)) {
                for (int i = 0; i < senders; i++) {
                    pool.submit(() -> {
                        for (int r = 0; r < rounds && node.process().isAlive(); r++) {
                            statuses.add(exchange(node.port(), head, json));
                        }
                    });
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            var counts = new java.util.TreeMap<String, Integer>();
            statuses.forEach(s -> counts.merge(s, 1, Integer::sum));
            assertTrue(node.process().isAlive(), "the node died (" + counts + " in " + seconds + " s):\n" + tail(node));
            assertEquals(null, awaitServing(node, Duration.ofSeconds(20)), tail(node));
            assertFalse(node.logText().contains("OutOfMemoryError"), counts + " in " + seconds + " s:\n" + tail(node));
            // Each dense body is refused by the parser's token limit before a tree is built, or
            // finds the body memory taken (503, or 429 for this client's share).
            assertTrue(counts.keySet().stream().allMatch(s -> s.equals("400 token limit") || s.equals("503")
                    || s.equals("429")), "answers to the dense bodies in " + seconds + " s: " + counts);
        }
    }

    /**
     * One request on its own connection: the response's status code ("400 token limit" for a
     * 400 naming the parser's token limit), or "cut" when none came within 20 s.
     */
    private static String exchange(int port, byte[] head, byte[] body) {
        try (var s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(20_000);
            var out = s.getOutputStream();
            out.write(head);
            out.write(body);
            out.flush();
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (response.length() < 12) {
                return "cut";
            }
            String status = response.substring(9, 12);
            return status.equals("400") && response.contains("values, names and brackets") ? "400 token limit"
                    : status;
        } catch (IOException e) {
            return "cut";
        }
    }

    @Test
    void moreSlowConnectionsThanDescriptorsLeaveTheDataPortServing() throws Exception {
        try (Node node = start("ulimit -n 600 &&", "-Xmx256m")) {
            List<Socket> held = new ArrayList<>();
            try {
                // twice the process's descriptors, each sending half a request line and stalling
                for (int i = 0; i < 1200; i++) {
                    var s = new Socket();
                    try {
                        s.connect(new InetSocketAddress("127.0.0.1", node.port()), 2000);
                        s.getOutputStream().write("GET /v1/mod".getBytes(StandardCharsets.US_ASCII));
                        held.add(s);
                    } catch (IOException e) {
                        s.close();
                    }
                }
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            String stillDown = awaitServing(node, Duration.ofSeconds(20));
            assertEquals(null, stillDown, "the data port does not serve after the flood:\n" + tail(node));
            assertEquals(200, node.get("/v1/models").statusCode());
        }
    }

    /**
     * The data listener really dies: Helidon ends a listener for good when accept() fails,
     * and accept() fails with "Too many open files" once the process has no descriptor left.
     * The connection cap is fitted to the descriptor limit at start, so here the limit is
     * lowered under the running node (what descriptors taken by anything else in the process
     * amount to) and connections are opened until accept() fails. The node must leave READY
     * before {@code gpud run} exits non-zero for its supervisor to restart it.
     */
    @Test
    void aDataListenerKilledByDescriptorExhaustionQuarantinesTheNodeAndEndsTheProcess() throws Exception {
        Path prlimit = Stream.of("/usr/bin/prlimit", "/bin/prlimit").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        assumeTrue(prlimit != null, "prlimit (util-linux) is needed to lower the running node's descriptor limit");
        try (Node node = start("", "-Xmx256m")) {
            long pid = node.process().pid();
            long open;
            try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                open = fds.count();
            }
            long limit = open + 24;
            var lowered = new ProcessBuilder(prlimit.toString(), "--pid", Long.toString(pid),
                    "--nofile=" + limit + ":" + limit).redirectErrorStream(true).start();
            assertTrue(lowered.waitFor(10, TimeUnit.SECONDS) && lowered.exitValue() == 0,
                    "prlimit failed: " + new String(lowered.getInputStream().readAllBytes(), StandardCharsets.UTF_8));

            List<Socket> held = new ArrayList<>();
            try {
                // more connections than descriptors are left: accept() fails, the listener ends
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!node.logText().contains("Too many open files") && System.nanoTime() < deadline) {
                    var s = new Socket();
                    try {
                        s.connect(new InetSocketAddress("127.0.0.1", node.port()), 500);
                        held.add(s);
                    } catch (IOException backlogFull) {
                        s.close();
                        Thread.sleep(50);
                    }
                }
                assertTrue(node.logText().contains("Too many open files"),
                        "accept() never failed with " + held.size() + " connections held:\n" + tail(node));
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            // With the held connections gone, the node has descriptors to notice its dead port.
            boolean exited = node.process().waitFor(30, TimeUnit.SECONDS);
            assertTrue(exited, "gpud still runs 30 s after its data listener died:\n" + tail(node));
            assertEquals(1, node.process().exitValue(), tail(node));
            String log = node.logText();
            int quarantined = log.indexOf("leaves READY (QUARANTINED");
            int exiting = log.indexOf("exiting for the supervisor to restart the node");
            assertTrue(quarantined >= 0 && exiting >= 0, tail(node));
            assertTrue(quarantined < exiting, "the process began to exit before the node left READY:\n" + tail(node));
        }
    }

    private static String tail(Node node) throws IOException {
        String text = node.logText();
        return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
    }
}
