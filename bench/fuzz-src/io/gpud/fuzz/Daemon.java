package io.gpud.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.cli.AdminClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One real gpud daemon started by {@code bin/gpud run} on the demo model, loopback only,
 * with {@code -Xmx256m}: its ports, its process (for crash detection and RSS), and the
 * checks the fuzzer runs against it (a liveness probe on a fresh connection, the admin
 * status document).
 */
final class Daemon implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    final String nodeId;
    final int dataPort;
    final int metricsPort;
    final int gossipPort;
    final Path dir;
    private final Process process;
    /** Highest VmRSS seen, KiB; written by the sampler only. */
    private volatile long maxRssKiB;
    private volatile long lastRssKiB;

    private Daemon(String nodeId, int dataPort, int gossipPort, Path dir, Process process) {
        this.nodeId = nodeId;
        this.dataPort = dataPort;
        this.metricsPort = dataPort + 1;
        this.gossipPort = gossipPort;
        this.dir = dir;
        this.process = process;
    }

    /**
     * Starts a daemon and waits until it answers {@code /health/ready} with 200.
     *
     * @param keyring the gossip keyring file, or null: gossip in plaintext. Either way the
     *                daemon runs under {@code gossip.insecure: true}, since it has no peer
     *                TLS and forwards to its peer in plain HTTP
     * @param join    a seed {@code host:port}, or null
     */
    static Daemon start(Path repo, Path dir, String nodeId, int dataPort, int gossipPort, Path keyring, String join)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        var yaml = new StringBuilder();
        yaml.append("engine:\n  kvCacheBytes: 64MiB\n");
        yaml.append("gossip:\n  profile: loopback\n  bindAddress: 127.0.0.1\n  port: ").append(gossipPort).append('\n');
        yaml.append("  join: [").append(join == null ? "" : join).append("]\n");
        if (keyring != null) {
            yaml.append("  keyringFile: ").append(keyring).append('\n');
        }
        yaml.append("  insecure: true\n");
        Path config = dir.resolve("gpud.yaml");
        Files.writeString(config, yaml);
        var pb = new ProcessBuilder(repo.resolve("bin/gpud").toString(), "run", "--config", config.toString(), "--demo",
                "--host", "127.0.0.1", "--port", Integer.toString(dataPort), "--metrics-port",
                Integer.toString(dataPort + 1), "--data-dir", dir.toString(), "--node-id", nodeId,
                "--admin-socket", dir.resolve("admin.sock").toString());
        pb.environment().put("GPUD_JAVA_OPTS", "-Xmx256m");
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile());
        var d = new Daemon(nodeId, dataPort, gossipPort, dir, pb.start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!d.alive()) {
                throw new IOException(nodeId + " exited with " + d.process.exitValue() + " while starting:\n"
                        + d.logTail(30));
            }
            if (d.get("/health/ready", 2000).startsWith("HTTP/1.1 200")) {
                d.sampleRss();
                return d;
            }
            Thread.sleep(200);
        }
        d.close();
        throw new IOException(nodeId + " was not ready after 180 s:\n" + d.logTail(30));
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    int exitValue() {
        return process.exitValue();
    }

    /** Reads VmRSS from /proc; returns it in KiB (0 when the process is gone). */
    long sampleRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    lastRssKiB = kib;
                    if (kib > maxRssKiB) {
                        maxRssKiB = kib;
                    }
                    return kib;
                }
            }
        } catch (IOException | NumberFormatException gone) {
            // the process has exited; crash detection reports it
        }
        return 0;
    }

    long maxRssKiB() {
        return maxRssKiB;
    }

    long lastRssKiB() {
        return lastRssKiB;
    }

    /**
     * A plain {@code GET path} on a fresh connection, half-closed after the request: the
     * whole answer as text, or {@code "HANG ..."} / {@code "CLOSED ..."} when none came
     * within {@code timeoutMs}.
     */
    String get(String path, int timeoutMs) {
        byte[] request = ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        var r = HttpExchange.send(path.equals("/metrics") ? metricsPort : dataPort, request, timeoutMs);
        return r.answer().length == 0 ? r.outcome() + " " + r.detail() : new String(r.answer(), StandardCharsets.UTF_8);
    }

    /** The admin status document, or null when it did not come within {@code timeoutMs}. */
    JsonNode status(int timeoutMs) {
        var client = new AdminClient(dir.resolve("admin.sock"));
        var f = CompletableFuture.supplyAsync(() -> {
            try {
                return JSON.readTree(client.get("/v1/status"));
            } catch (IOException e) {
                return null;
            }
        });
        try {
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            f.cancel(true);
            return null;
        }
    }

    /** {@code nodeId}'s entry in a status document's members, or null. */
    static JsonNode member(JsonNode status, String nodeId) {
        for (JsonNode m : status.path("members")) {
            if (nodeId.equals(m.path("nodeId").asText())) {
                return m;
            }
        }
        return null;
    }

    /** Whether {@code other} is alive and READY in this daemon's view. */
    boolean sees(String other, int timeoutMs) {
        JsonNode s = status(timeoutMs);
        JsonNode m = s == null ? null : member(s, other);
        return m != null && m.path("state").asText().equals("alive") && m.path("nodeState").asText().equals("READY");
    }

    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(dir.resolve("daemon.log"), StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Lines written to the daemon's log so far (stack traces show up as many). */
    long logLines() {
        try (var lines = Files.lines(dir.resolve("daemon.log"), StandardCharsets.ISO_8859_1)) {
            return lines.count();
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
