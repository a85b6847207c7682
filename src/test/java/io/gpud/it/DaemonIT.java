package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon end to end, as an operator and a client see it: bin/gpud with the packaged jar. */
class DaemonIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void demoServesOpenAiAndOllama(@TempDir Path dir) throws Exception {
        try (var d = Daemon.start(dir.resolve("data"), "--demo")) {
            HttpResponse<String> models = d.get("/v1/models");
            assertEquals(200, models.statusCode());
            assertTrue(models.headers().firstValue("x-gpud-node").isPresent(), "x-gpud-node header");
            assertEquals("gpud-demo", JSON.readTree(models.body()).path("data").get(0).path("id").asText());

            HttpResponse<String> chat = d.post("/v1/chat/completions", """
                    {"model":"gpud-demo","messages":[{"role":"user","content":"Hello there"}],"max_tokens":24}""");
            assertEquals(200, chat.statusCode(), chat.body());
            JsonNode body = JSON.readTree(chat.body());
            assertFalse(body.path("choices").get(0).path("message").path("content").asText().isEmpty(), chat.body());
            JsonNode usage = body.path("usage");
            assertTrue(usage.path("completion_tokens").asInt() > 0, chat.body());
            assertEquals(usage.path("prompt_tokens").asInt() + usage.path("completion_tokens").asInt(),
                    usage.path("total_tokens").asInt());

            List<String> sse = lines(d, "/v1/chat/completions", """
                    {"model":"gpud-demo","messages":[{"role":"user","content":"Hi"}],"max_tokens":16,"stream":true}""");
            List<String> events = sse.stream().filter(l -> l.startsWith("data: ")).toList();
            assertTrue(events.size() > 2, "SSE chunks: " + sse);
            assertEquals("data: [DONE]", events.getLast());
            assertEquals("chat.completion.chunk",
                    JSON.readTree(events.getFirst().substring(6)).path("object").asText());

            List<String> ndjson = lines(d, "/api/chat", """
                    {"model":"gpud-demo","messages":[{"role":"user","content":"Hi"}],"options":{"num_predict":16}}""")
                    .stream().filter(l -> !l.isBlank()).toList();
            assertTrue(ndjson.size() > 2, "NDJSON lines: " + ndjson);
            JsonNode last = JSON.readTree(ndjson.getLast());
            assertTrue(last.path("done").asBoolean(), ndjson.getLast());
            assertTrue(last.path("eval_count").asInt() > 0, ndjson.getLast());

            var metrics = d.http.send(HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + d.metricsPort + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("gpud_http_requests_total"), metrics.body());

            var status = d.cli("status", "--json");
            assertEquals(0, status.exitCode(), status.stderr());
            JsonNode s = JSON.readTree(status.stdout());
            assertEquals("READY", s.path("state").asText());
            assertEquals("local", s.path("region").asText());
            assertEquals("gpud-demo", s.path("models").get(0).path("name").asText());
            assertEquals(s.path("nodeId").asText(), models.headers().firstValue("x-gpud-node").orElseThrow());

            var human = d.cli("status");
            assertEquals(0, human.exitCode(), human.stderr());
            assertTrue(human.stdout().contains("READY") && human.stdout().contains("gpud-demo"), human.stdout());
        }
    }

    @Test
    void drainWaitsForInFlightStreamsAndUndrainResumes(@TempDir Path dir) throws Exception {
        SlowModel.write(dir.resolve("model"), 7);
        try (var d = Daemon.start(dir.resolve("data"), "--model", dir.resolve("model/model.bin").toString(),
                "--tokenizer", dir.resolve("model/tokenizer.bin").toString(), "--model-name", "slow")) {
            List<CompletableFuture<List<String>>> streams = startStreams(d, 4);
            awaitInFlight(d, 4);

            var drain = CompletableFuture.supplyAsync(() -> call(() -> d.cli("drain", "--wait", "--timeout", "120s")));
            awaitState(d, "DRAINING", "DRAINED");
            HttpResponse<String> refused = d.post("/v1/completions", """
                    {"model":"slow","prompt":"x","max_tokens":4}""");
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.headers().firstValue("retry-after").isPresent(), "Retry-After on 503");
            assertNotNull(JSON.readTree(refused.body()).path("error").path("message").textValue(), refused.body());

            var drained = drain.get();
            assertEquals(0, drained.exitCode(), drained.stderr());
            assertEquals("DRAINED", drained.stdout().trim());
            assertStreamsFinished(streams);
            assertEquals("DRAINED", JSON.readTree(d.cli("status", "--json").stdout()).path("state").asText());

            var undrain = d.cli("undrain");
            assertEquals(0, undrain.exitCode(), undrain.stderr());
            assertEquals("READY", undrain.stdout().trim());
            assertEquals(200, d.post("/v1/completions", """
                    {"model":"slow","prompt":"x","max_tokens":4}""").statusCode());
        }
    }

    @Test
    void sigtermDrainsThenExitsZero(@TempDir Path dir) throws Exception {
        SlowModel.write(dir.resolve("model"), 11);
        try (var d = Daemon.start(dir.resolve("data"), "--model", dir.resolve("model/model.bin").toString(),
                "--tokenizer", dir.resolve("model/tokenizer.bin").toString(), "--model-name", "slow")) {
            List<CompletableFuture<List<String>>> streams = startStreams(d, 4);
            awaitInFlight(d, 4);
            int exit = d.terminate(Duration.ofSeconds(120));
            assertStreamsFinished(streams);
            assertEquals(0, exit, d.log());
            assertTrue(d.log().contains("draining"), d.log());
            assertFalse(java.nio.file.Files.exists(d.adminSocket), "admin socket removed on exit");
        }
    }

    @Test
    void clientCommandsFailClearlyWithoutADaemon(@TempDir Path dir) throws Exception {
        var r = Daemon.CliResult.run(List.of("bin/gpud", "status", "--admin-socket", dir.resolve("none.sock").toString()));
        assertEquals(1, r.exitCode());
        assertEquals(1, r.stderr().strip().lines().filter(l -> !l.startsWith("WARNING: Using incubator")).count(),
                r.stderr());
        assertTrue(r.stderr().contains("gpud:"), r.stderr());
    }

    private static List<CompletableFuture<List<String>>> startStreams(Daemon d, int n) {
        List<CompletableFuture<List<String>>> streams = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            streams.add(CompletableFuture.supplyAsync(() -> call(() -> lines(d, "/v1/completions", """
                    {"model":"slow","prompt":"Once upon a time","max_tokens":240,"stream":true}"""))));
        }
        return streams;
    }

    private static void assertStreamsFinished(List<CompletableFuture<List<String>>> streams) throws Exception {
        for (var s : streams) {
            List<String> events = s.get().stream().filter(l -> l.startsWith("data: ")).toList();
            assertEquals("data: [DONE]", events.getLast(), "stream ended without [DONE]");
            String finish = events.stream().filter(e -> !e.equals("data: [DONE]"))
                    .map(e -> call(() -> JSON.readTree(e.substring(6))))
                    .map(j -> j.path("choices").path(0).path("finish_reason").asText(""))
                    .filter(f -> !f.isEmpty()).collect(Collectors.joining(","));
            assertEquals("length", finish, "finish_reason of a completed stream");
        }
    }

    private static void awaitInFlight(Daemon d, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int seen = 0;
        while (System.nanoTime() < deadline) {
            seen = JSON.readTree(d.cli("status", "--json").stdout()).path("inFlight").asInt();
            if (seen >= n) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("expected " + n + " in flight, saw " + seen + "\n" + d.log());
    }

    private static void awaitState(Daemon d, String... states) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            String state = JSON.readTree(d.cli("status", "--json").stdout()).path("state").asText();
            if (List.of(states).contains(state)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("state never became one of " + List.of(states));
    }

    static List<String> lines(Daemon d, String path, String json) throws Exception {
        HttpResponse<java.util.stream.Stream<String>> r = d.http.send(HttpRequest.newBuilder(d.uri(path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        try (var body = r.body()) {
            return body.toList();
        }
    }

    interface Call<T> {
        T run() throws Exception;
    }

    static <T> T call(Call<T> c) {
        try {
            return c.run();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
