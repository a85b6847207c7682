package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.cli.AdminClient;
import io.gpud.model.ModelStore;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hot reload end to end: a daemon serving a model from the store is reloaded ten times
 * while eight clients stream completions, and once with a corrupted version. No request
 * may fail; the test prints the longest pause between two events of one stream.
 */
class HotReloadIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLIENTS = 8;
    private static final int RELOADS = 10;

    /** {@code beside}: old and new fit together; {@code draining}: they do not (a 1 MiB budget). */
    @ParameterizedTest
    @ValueSource(strings = {"beside", "draining"})
    void tenReloadsUnderStreamingLoadFailNoRequest(String mode, @TempDir Path dir) throws Exception {
        Path store = dir.resolve("store");
        for (String v : List.of("v1", "v2", "v3")) {
            SlowModel.write(store.resolve("slow").resolve(v), v.hashCode());
        }
        ModelStore.publish(store.resolve("slow/v2"), 4 << 20);
        ModelStore.publish(store.resolve("slow/v3"), 4 << 20);
        ModelStore.publishAndSetCurrent(store.resolve("slow/v1"), 4 << 20);
        SlowModel.write(store.resolve("slow/bad"), 99);
        ModelStore.publish(store.resolve("slow/bad"), 4 << 20);
        flipByte(store.resolve("slow/bad/model.bin"), 3 * (4L << 20) + 100);

        Path config = dir.resolve("gpud.yaml");
        Files.writeString(config, "model:\n  name: slow\nengine:\n  queueCapacity: 32\n  maxConcurrent: 8\n"
                + "store:\n  root: " + store + "\n  chunkBytes: 4MiB\n  subReadBytes: 1MiB\n"
                + (mode.equals("draining") ? "  reloadMemoryBytes: 1MiB\n" : ""));
        try (var d = Daemon.start(dir.resolve("data"), "--config", config.toString())) {
            assertEquals("v1", servedVersion(d));
            var stop = new AtomicBoolean();
            var failures = new ConcurrentLinkedQueue<String>();
            var completed = new AtomicInteger();
            var longestPauseNanos = new AtomicLong();
            var clientsStarted = new CountDownLatch(CLIENTS);
            var clients = new ArrayList<Thread>();
            for (int c = 0; c < CLIENTS; c++) {
                clients.add(Thread.ofPlatform().start(() -> {
                    clientsStarted.countDown();
                    while (!stop.get()) {
                        stream(d, failures, completed, longestPauseNanos);
                    }
                }));
            }
            clientsStarted.await();
            var admin = new AdminClient(d.adminSocket);
            // the longest pause without any reload, for comparison: every client completes two streams first
            long baselineUntil = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (completed.get() < 2 * CLIENTS && System.nanoTime() < baselineUntil) {
                Thread.sleep(50);
            }
            long baselinePauseNanos = longestPauseNanos.getAndSet(0);
            String[] order = {"v2", "v3", "v1"};
            for (int i = 0; i < RELOADS; i++) {
                String version = order[i % order.length];
                if (i == 0) {
                    var r = d.cli("model", "load", "slow@" + version, "--timeout", "60s");
                    assertEquals(0, r.exitCode(), r.stdout() + r.stderr() + "\n" + d.log());
                } else {
                    reload(admin, version);
                }
                assertEquals(version, servedVersion(d));
            }
            var bad = d.cli("model", "load", "slow@bad", "--timeout", "60s");
            assertEquals(1, bad.exitCode(), bad.stdout());
            assertTrue(bad.stderr().contains("model.bin chunk 3 at offset 12582912: CRC32C mismatch"), bad.stderr());
            String before = order[(RELOADS - 1) % order.length];
            assertEquals(before, servedVersion(d), "the old version keeps serving after a failed load");
            JsonNode status = JSON.readTree(d.cli("status", "--json").stdout());
            assertEquals("failed", status.path("modelLoad").path("state").asText());
            assertTrue(d.metrics().contains("gpud_model_load_bytes_per_second"));

            stop.set(true);
            for (Thread t : clients) {
                t.join(Duration.ofSeconds(60));
            }
            assertEquals(List.of(), List.copyOf(failures), "failed requests");
            assertTrue(completed.get() >= CLIENTS, "completed " + completed.get());
            System.out.printf("hot reload (%s): %d reloads, %d completions, 0 failed, longest pause %.0f ms "
                    + "(%.0f ms before any reload)%n", mode, RELOADS, completed.get(), longestPauseNanos.get() / 1e6,
                    baselinePauseNanos / 1e6);
        }
    }

    /** One streaming completion; records failures and the longest gap between two of its events. */
    private static void stream(Daemon d, ConcurrentLinkedQueue<String> failures, AtomicInteger completed,
                               AtomicLong longestPause) {
        try {
            long last = System.nanoTime();
            HttpResponse<java.util.stream.Stream<String>> r = d.http.send(HttpRequest.newBuilder(d.uri("/v1/completions"))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString("""
                            {"model":"slow","prompt":"Once upon a time","max_tokens":24,"stream":true}""")).build(),
                    HttpResponse.BodyHandlers.ofLines());
            if (r.statusCode() != 200) {
                failures.add("status " + r.statusCode());
                return;
            }
            String lastEvent = null;
            try (var body = r.body()) {
                for (var it = body.iterator(); it.hasNext(); ) {
                    String line = it.next();
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    long now = System.nanoTime();
                    longestPause.accumulateAndGet(now - last, Math::max);
                    last = now;
                    lastEvent = line;
                    if (line.contains("\"error\"")) {
                        failures.add(line);
                    }
                }
            }
            if (!"data: [DONE]".equals(lastEvent)) {
                failures.add("stream ended with " + lastEvent);
            } else {
                completed.incrementAndGet();
            }
        } catch (Exception e) {
            failures.add(e.toString());
        }
    }

    /** Starts a reload over the admin socket (what gpud model load does) and waits until it serves. */
    private static void reload(AdminClient admin, String version) throws Exception {
        admin.post("/v1/models/load", "{\"name\":\"slow\",\"version\":\"" + version + "\"}");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode load = JSON.readTree(admin.get("/v1/status")).path("modelLoad");
            if (load.path("model").asText().equals("slow@" + version)) {
                String state = load.path("state").asText();
                if (state.equals("serving")) {
                    return;
                }
                assertTrue(!state.equals("failed"), load.toString());
            }
            Thread.sleep(50);
        }
        throw new AssertionError("slow@" + version + " not serving after 60 s");
    }

    private static String servedVersion(Daemon d) throws Exception {
        JsonNode models = JSON.readTree(d.get("/v1/models").body()).path("data");
        return models.path(0).path("version").asText();
    }

    private static void flipByte(Path file, long offset) throws Exception {
        byte[] b = Files.readAllBytes(file);
        b[(int) offset] ^= 1;
        Files.write(file, b);
    }
}
