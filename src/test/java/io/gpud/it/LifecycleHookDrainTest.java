package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.config.GpudConfig;
import io.gpud.core.NodeState;
import io.gpud.node.Cloud;
import io.gpud.node.LoopbackNodes;
import io.gpud.node.Node;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.scaling.FakeAutoScaling;
import io.gpud.scaling.FakeImds;
import io.gpud.state.EmbeddedStateStore;
import io.gpud.state.StateStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node in this JVM, with IMDSv2 and EC2 Auto Scaling faked on loopback: told through
 * IMDS that its target lifecycle state is Terminated while 4 requests stream, it drains,
 * finishes all 4, and only then completes the lifecycle action with CONTINUE. A spot
 * notice drains too.
 */
class LifecycleHookDrainTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(90);

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void terminationHookWaitsForEveryStreamingRequest(@TempDir Path dir) throws Exception {
        SlowModel.write(dir.resolve("model"), 5);
        try (var imds = new FakeImds(); var asg = new FakeAutoScaling()) {
            imds.set("instance-id", "i-0feedc0de");
            imds.set("autoscaling/target-lifecycle-state", "InService");
            try (Node node = Node.start(config(dir, imds.endpoint()), cloud(asg))) {
                var firstChunks = new CountDownLatch(4);
                var streams = new ArrayList<CompletableFuture<Stream>>();
                for (int i = 0; i < 4; i++) {
                    streams.add(CompletableFuture.supplyAsync(() -> stream(node.port(), firstChunks)));
                }
                assertTrue(firstChunks.await(WAIT.toSeconds(), TimeUnit.SECONDS), "4 streams started");
                assertEquals(4, node.inFlight());

                imds.set("autoscaling/target-lifecycle-state", "Terminated");
                awaitState(node, NodeState.DRAINING, NodeState.DRAINED);
                assertEquals(503, post(node.port(), "{\"model\":\"slow\",\"prompt\":\"x\",\"max_tokens\":2}"),
                        "a draining node refuses new work");

                List<Stream> finished = new ArrayList<>();
                for (var s : streams) {
                    finished.add(s.get(WAIT.toSeconds(), TimeUnit.SECONDS));
                }
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (asg.requests("CompleteLifecycleAction").isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                var completions = asg.requests("CompleteLifecycleAction");
                assertEquals(1, completions.size(), "one completion: " + asg.requests());
                var completion = completions.getFirst();
                assertEquals(Map.of("Action", "CompleteLifecycleAction", "Version", "2011-01-01",
                        "AutoScalingGroupName", "gpud-model-a", "LifecycleHookName", "gpud-drain",
                        "InstanceId", "i-0feedc0de", "LifecycleActionResult", "CONTINUE"), completion.params());
                for (Stream s : finished) {
                    assertEquals("length", s.finishReason(), "each stream ran to max_tokens");
                    assertTrue(s.doneNanos() < completion.receivedNanos(),
                            "the action was completed only after every stream had finished");
                }
                assertEquals(NodeState.DRAINED, node.state());
                var heartbeats = asg.requests("RecordLifecycleActionHeartbeat");
                heartbeats.forEach(h -> assertTrue(h.receivedNanos() < completion.receivedNanos()));
                heartbeats.forEach(h -> assertEquals("i-0feedc0de", h.params().get("InstanceId")));
                long drainNanos = completion.receivedNanos() - finished.stream().mapToLong(Stream::firstChunkNanos)
                        .max().orElseThrow();
                if (drainNanos > Duration.ofSeconds(1).toNanos()) {
                    assertTrue(heartbeats.size() >= 1, "a drain of " + drainNanos / 1_000_000
                            + " ms with heartbeats every 200 ms sent none");
                }
                System.out.printf("lifecycle drain: 4 streams finished, %d heartbeats, action completed %d ms after "
                                + "the last stream ended%n", heartbeats.size(),
                        (completion.receivedNanos() - finished.stream().mapToLong(Stream::doneNanos).max()
                                .orElseThrow()) / 1_000_000);
            }
        }
    }

    @Test
    void spotInterruptionNoticeDrainsWithoutTouchingTheHook(@TempDir Path dir) throws Exception {
        SlowModel.write(dir.resolve("model"), 6);
        try (var imds = new FakeImds(); var asg = new FakeAutoScaling()) {
            imds.set("instance-id", "i-0spot");
            try (Node node = Node.start(config(dir, imds.endpoint()), cloud(asg))) {
                assertEquals(NodeState.READY, node.state());
                imds.set("spot/instance-action", "{\"action\": \"terminate\", \"time\": \"2026-01-01T00:02:00Z\"}");
                awaitState(node, NodeState.DRAINED);
                assertEquals(List.of(), asg.requests(), "no lifecycle action without a Terminated target state");
            }
        }
    }

    private static GpudConfig config(Path dir, URI imds) {
        return LoopbackNodes.config(dir, "node", Map.of(
                "model.path", dir.resolve("model/model.bin").toString(),
                "model.tokenizer", dir.resolve("model/tokenizer.bin").toString(),
                "model.name", "slow",
                "engine.maxConcurrent", "4",
                "lifecycle.watch", "true",
                "lifecycle.imdsEndpoint", imds.toString(),
                "lifecycle.pollEvery", "50ms",
                "lifecycle.heartbeatEvery", "200ms",
                "lifecycle.autoScalingGroup", "gpud-model-a"));
    }

    private static Cloud cloud(FakeAutoScaling asg) {
        return new Cloud() {
            @Override
            public StateStore stateStore(GpudConfig config) {
                return new EmbeddedStateStore();
            }

            @Override
            public AwsAutoScaling autoScaling(GpudConfig config) {
                return new AwsAutoScaling(asg.client());
            }
        };
    }

    /** One finished stream: its finish_reason and when its first chunk and [DONE] arrived. */
    record Stream(String finishReason, long firstChunkNanos, long doneNanos) {
    }

    private Stream stream(int port, CountDownLatch firstChunks) {
        try {
            var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"slow\",\"prompt\":\"Once upon a time\",\"max_tokens\":200,\"stream\":true}"))
                    .build();
            HttpResponse<java.util.stream.Stream<String>> r = http.send(request, HttpResponse.BodyHandlers.ofLines());
            assertEquals(200, r.statusCode());
            long first = -1;
            var events = new ArrayList<String>();
            try (var lines = r.body()) {
                for (String line : (Iterable<String>) lines::iterator) {
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    if (first < 0) {
                        first = System.nanoTime();
                        firstChunks.countDown();
                    }
                    events.add(line.substring(6));
                }
            }
            long done = System.nanoTime();
            assertEquals("[DONE]", events.getLast(), "stream ended without [DONE]");
            String finish = events.stream().filter(e -> !e.equals("[DONE]"))
                    .map(e -> {
                        try {
                            return JSON.readTree(e).path("choices").path(0).path("finish_reason").asText("");
                        } catch (java.io.IOException ex) {
                            throw new IllegalStateException(ex);
                        }
                    })
                    .filter(f -> !f.isEmpty()).collect(Collectors.joining(","));
            return new Stream(finish, first, done);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private int post(int port, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static void awaitState(Node node, NodeState... states) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!List.of(states).contains(node.state())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("state " + node.state() + " never became one of " + List.of(states));
            }
            Thread.sleep(10);
        }
    }
}
