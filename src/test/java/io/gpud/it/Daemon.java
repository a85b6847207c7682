package io.gpud.it;

import java.io.IOException;
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
import java.util.concurrent.TimeUnit;

/**
 * A {@code gpud run} process started through {@code bin/gpud} with the packaged jar, on
 * free loopback ports and its own data directory. Output goes to {@code daemon.log} in the
 * data directory and is printed when a test fails.
 */
final class Daemon implements AutoCloseable {

    final Path dataDir;
    final Path adminSocket;
    final int port;
    final int metricsPort;
    final int gossipPort;
    final Process process;
    final Path logFile;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Daemon(Path dataDir, int port, int metricsPort, int gossipPort, Process process, Path logFile) {
        this.dataDir = dataDir;
        this.adminSocket = dataDir.resolve("admin.sock");
        this.port = port;
        this.metricsPort = metricsPort;
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
        int port = freePort();
        int metricsPort = freePort();
        List<String> command = new ArrayList<>(List.of("bin/gpud", "run", "--host", "127.0.0.1",
                "--port", String.valueOf(port), "--metrics-port", String.valueOf(metricsPort),
                "--gossip-port", String.valueOf(gossipPort), "--data-dir", dataDir.toString()));
        command.addAll(List.of(args));
        Path log = dataDir.resolve("daemon.log");
        Files.createDirectories(dataDir);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        var daemon = new Daemon(dataDir, port, metricsPort, gossipPort, p, log);
        daemon.awaitReady(Duration.ofSeconds(60));
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
            try {
                if (get("/health/ready").statusCode() == 200) {
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

    static int freePort() throws IOException {
        try (var s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
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
