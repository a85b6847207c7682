package io.gpud.it;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code gpud run} process started through {@code bin/gpud} with the packaged jar, on
 * loopback and its own data directory. It binds its HTTP ports itself (port 0) and they are
 * read from its READY log line: ports picked here and bound later could be taken in between
 * by any connection's ephemeral port. Output goes to {@code daemon.log} in the data
 * directory and is printed when a test fails.
 */
final class Daemon implements AutoCloseable {

    private static final Pattern READY_LINE =
            Pattern.compile(" READY: data plane on 127\\.0\\.0\\.1:(\\d+), metrics on :(\\d+),");

    final Path dataDir;
    final Path adminSocket;
    int port;
    int metricsPort;
    final int gossipPort;
    final Process process;
    final Path logFile;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Daemon(Path dataDir, int gossipPort, Process process, Path logFile) {
        this.dataDir = dataDir;
        this.adminSocket = dataDir.resolve("admin.sock");
        this.gossipPort = gossipPort;
        this.process = process;
        this.logFile = logFile;
    }

    /** Starts a daemon with these extra {@code gpud run} arguments and waits until it is ready. */
    static Daemon start(Path dataDir, String... args) throws Exception {
        return start(dataDir, freePort(), args);
    }

    /** Starts a daemon gossiping on {@code gossipPort} (a restart reuses its predecessor's). */
    static Daemon start(Path dataDir, int gossipPort, String... args) throws Exception {
        // --insecure-cluster: these daemons gossip without a keyring unless their config gives one.
        List<String> command = new ArrayList<>(List.of("bin/gpud", "run", "--insecure-cluster", "--host", "127.0.0.1",
                "--port", "0", "--metrics-port", "0",
                "--gossip-port", String.valueOf(gossipPort), "--data-dir", dataDir.toString()));
        command.addAll(List.of(args));
        Path log = dataDir.resolve("daemon.log");
        Files.createDirectories(dataDir);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        var daemon = new Daemon(dataDir, gossipPort, p, log);
        try {
            daemon.awaitReady(Duration.ofSeconds(60));
        } catch (Exception | AssertionError e) {
            daemon.close();
            throw e;
        }
        return daemon;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The Prometheus scrape of this daemon. */
    String metrics() throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Sends SIGKILL and waits for the process to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Runs the CLI against this daemon's admin socket; returns exit code and output. */
    CliResult cli(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bin/gpud"));
        command.addAll(List.of(args));
        command.addAll(List.of("--admin-socket", adminSocket.toString()));
        return CliResult.run(command);
    }

    private void awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("gpud exited with " + process.exitValue() + ":\n" + log());
            }
            if (port == 0) {
                Matcher ready = READY_LINE.matcher(log());
                if (ready.find()) {
                    port = Integer.parseInt(ready.group(1));
                    metricsPort = Integer.parseInt(ready.group(2));
                }
            }
            try {
                if (port != 0 && get("/health/ready").statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("gpud not ready after " + timeout + ":\n" + log());
    }

    String log() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Sends SIGTERM and waits for the exit code. */
    int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("gpud did not exit within " + timeout + " of SIGTERM:\n" + log());
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    /**
     * A port free for both TCP and UDP on loopback now and not handed out before in this run,
     * for a gossip listener (which must be known before the daemon starts, so its peers can
     * name it). It is drawn from 10000–32767, below Linux's default ephemeral range
     * (32768–60999): a port from that range may be handed to some outgoing connection between
     * this check and the daemon's bind, one below it is taken only by a listener that asks
     * for it.
     */
    static int freePort() throws IOException {
        var random = ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = random.nextInt(10_000, 32_768);
            if (!HANDED_OUT.add(port)) {
                continue; // free now, but another daemon of this run is meant to bind it
            }
            try (var tcp = new ServerSocket(); var udp = new DatagramSocket(null)) {
                tcp.bind(new InetSocketAddress("127.0.0.1", port));
                udp.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IOException("no port in 10000-32767 is free for both TCP and UDP");
    }

    record CliResult(int exitCode, String stdout, String stderr) {
        static CliResult run(List<String> command) throws Exception {
            Process p = new ProcessBuilder(command).start();
            p.getOutputStream().close();
            var stderr = new java.util.concurrent.CompletableFuture<String>();
            Thread.ofVirtual().start(() -> {
                try {
                    stderr.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    stderr.complete("(unreadable: " + e + ")");
                }
            });
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("command did not finish: " + command);
            }
            return new CliResult(p.exitValue(), stdout, stderr.get(10, TimeUnit.SECONDS));
        }
    }
}
