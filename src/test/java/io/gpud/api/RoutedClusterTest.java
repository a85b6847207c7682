package io.gpud.api;

import io.gpud.config.RoutingConfig;
import io.gpud.routing.RequestSource;
import io.gpud.routing.RouteExplanation;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Routing through real HTTP between in-process nodes ({@link SimCluster}): region locality,
 * affinity, region failover after a whole region dies, drain under load, and the spread of
 * many concurrent requests.
 */
class RoutedClusterTest {

    private static final String EAST = "us-east-1";
    private static final String WEST = "us-west-2";
    private static final String EU = "eu-west-1";
    /** Clients from this address have affinity to us-east-1. */
    private static final String EAST_CLIENT = "127.0.0.2";

    private static RoutingConfig routing(List<String> affinity) {
        RoutingConfig d = RoutingConfig.defaults();
        return new RoutingConfig(true, d.weightLoad(), d.weightLatency(), d.weightAffinity(), d.latencyCeiling(),
                d.staleLoadAfter(), d.crossRegionPenalty(), d.choices(), d.maxAttempts(),
                // A burst of a thousand connections on a 2-core machine running every node
                // takes longer to accept than a LAN's 1 s default allows.
                Duration.ofSeconds(10),
                d.breakerFailures(), d.breakerOpenFor(), false, affinity, d.firstByteTimeout(), d.idleTimeout(),
                d.peerTls());
    }

    private static HttpClient client(String localAddress) throws IOException {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .localAddress(InetAddress.getByName(localAddress))
                .connectTimeout(Duration.ofSeconds(30))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    /** One request's fate. */
    private record Result(long startNanos, long endNanos, String entry, String servedBy, int status, String error) {
        boolean ok() {
            return status == 200 && error == null;
        }
    }

    private static Result request(HttpClient client, SimCluster.SimNode entry, boolean stream) {
        long start = System.nanoTime();
        String body = "{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":4" + (stream ? ",\"stream\":true" : "") + "}";
        try {
            var response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + entry.port()
                            + "/v1/completions")).timeout(Duration.ofSeconds(60))
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            String served = response.headers().firstValue("x-gpud-node").orElse("?");
            String error = null;
            if (response.statusCode() == 200 && stream && !response.body().contains("[DONE]")) {
                error = "stream ended without [DONE]";
            } else if (response.statusCode() == 200 && !stream && !response.body().contains("\"abcd\"")) {
                error = "unexpected body " + response.body();
            }
            return new Result(start, System.nanoTime(), entry.id, served, response.statusCode(),
                    response.statusCode() == 200 ? error : response.body());
        } catch (IOException | InterruptedException e) {
            return new Result(start, System.nanoTime(), entry.id, null, 0, e.toString());
        }
    }

    private static String regionOf(SimCluster cluster, String node) {
        return node == null ? null : cluster.node(node).region;
    }

    @Test
    void threeRegionsServeLocallyHonourAffinityAndFailOverWhenARegionDies() throws Exception {
        var affinity = routing(List.of(EAST_CLIENT + "/32=" + EAST));
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            cluster.rtt(EAST, WEST, Duration.ofMillis(60)).rtt(EAST, EU, Duration.ofMillis(80))
                    .rtt(WEST, EU, Duration.ofMillis(140));
            for (String region : List.of(EAST, WEST, EU)) {
                for (int i = 1; i <= 2; i++) {
                    cluster.add(region.substring(0, 2) + "-" + region.substring(3, 7) + i, region, affinity)
                            .engine.tokenDelay = Duration.ofMillis(10);
                }
            }
            HttpClient plain = client("127.0.0.1");
            HttpClient east = client(EAST_CLIENT);
            // Healthy: requests are served in the region they enter, or the affinity region.
            for (SimCluster.SimNode entry : cluster.nodes()) {
                for (int i = 0; i < 4; i++) {
                    Result r = request(plain, entry, i % 2 == 0);
                    assertTrue(r.ok(), r.toString());
                    assertEquals(entry.region, regionOf(cluster, r.servedBy()), "entered at " + entry.id + ": " + r);
                    Result a = request(east, entry, i % 2 == 1);
                    assertTrue(a.ok(), a.toString());
                    assertEquals(EAST, regionOf(cluster, a.servedBy()), "affinity, entered at " + entry.id + ": " + a);
                }
            }
            // Steady load with affinity to us-east-1, entering in the other regions; then
            // both us-east-1 nodes die, and the load goes on for 4 s.
            List<SimCluster.SimNode> entries = cluster.nodes().stream().filter(n -> !n.region.equals(EAST)).toList();
            var results = new CopyOnWriteArrayList<Result>();
            var endAt = new AtomicLong(Long.MAX_VALUE);
            var clients = new ArrayList<Thread>();
            for (int c = 0; c < 4; c++) {
                var random = new Random(c);
                boolean stream = c % 2 == 0;
                clients.add(Thread.ofVirtual().start(() -> {
                    while (System.nanoTime() < endAt.get()) {
                        results.add(request(east, entries.get(random.nextInt(entries.size())), stream));
                    }
                }));
            }
            // The kill comes after a second of load and once more than ten requests have ended,
            // which a busy machine may take longer for (at most 30 s).
            long steady = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while ((System.nanoTime() < steady || results.size() <= 10) && System.nanoTime() < deadline) {
                Thread.sleep(Duration.ofMillis(20));
            }
            // A kill returns once the node's server has stopped, which waits a grace period for
            // its connections (longer on a busy machine), one node after the other: until the
            // last has stopped, a request may still be served in us-east-1. So the region is
            // alive until killing, and dead from killed on.
            long killing = System.nanoTime();
            cluster.nodes().stream().filter(n -> n.region.equals(EAST)).forEach(SimCluster.SimNode::kill);
            long killed = System.nanoTime();
            endAt.set(killed + Duration.ofSeconds(4).toNanos());
            for (Thread t : clients) {
                t.join();
            }
            List<Result> before = results.stream().filter(r -> r.endNanos() < killing).toList();
            List<Result> failed = results.stream().filter(r -> !r.ok()).toList();
            List<Result> after = results.stream().filter(r -> r.startNanos() > killed).toList();
            assertTrue(before.size() > 10 && after.size() > 10, before.size() + " before, " + after.size() + " after");
            before.forEach(r -> assertEquals(EAST, regionOf(cluster, r.servedBy()), r.toString()));
            // Only requests in flight on the killed nodes may fail.
            for (Result f : failed) {
                assertTrue(f.startNanos() < killed, "failed although it started after the kill: " + f);
            }
            long lastEast = after.stream().filter(r -> EAST.equals(regionOf(cluster, r.servedBy())))
                    .mapToLong(Result::endNanos).max().orElse(killed);
            assertTrue(lastEast - killed < Duration.ofSeconds(10).toNanos());
            for (Result r : after) {
                assertTrue(r.ok(), "after the kill: " + r);
                assertEquals(regionOf(cluster, r.entry()), regionOf(cluster, r.servedBy()),
                        "after the kill the next region by RTT is the entry's own: " + r);
            }
            long firstMoved = after.stream().mapToLong(Result::endNanos).min().orElseThrow();
            System.out.printf("failover: %d requests before the kill, %d after, %d failed (in flight on the "
                            + "killed nodes: %s); the kill took %.0f ms; first request served outside %s %.0f ms "
                            + "after the kill%n",
                    before.size(), after.size(), failed.size(),
                    failed.stream().map(Result::error).collect(Collectors.toList()), (killed - killing) / 1e6, EAST,
                    (firstMoved - killed) / 1e6);
        }
    }

    @Test
    void aDrainingNodeForwardsEverythingItReceivesAndNothingFails() throws Exception {
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            var config = routing(List.of());
            for (int i = 1; i <= 3; i++) {
                cluster.add("d" + i, "r", config).engine.tokenDelay = Duration.ofMillis(10);
            }
            SimCluster.SimNode entry = cluster.node("d1");
            HttpClient plain = client("127.0.0.1");
            var results = new CopyOnWriteArrayList<Result>();
            long drainAt = System.nanoTime() + Duration.ofMillis(800).toNanos();
            long endAt = drainAt + Duration.ofMillis(1500).toNanos();
            var clients = new ArrayList<Thread>();
            // When each client's request in progress began (MAX_VALUE between requests)
            var inProgressSince = new AtomicLongArray(6);
            for (int c = 0; c < 6; c++) {
                boolean stream = c % 2 == 0;
                int client = c;
                inProgressSince.set(client, Long.MAX_VALUE);
                clients.add(Thread.ofVirtual().start(() -> {
                    while (System.nanoTime() < endAt) {
                        inProgressSince.set(client, System.nanoTime());
                        results.add(request(plain, entry, stream));
                        inProgressSince.set(client, Long.MAX_VALUE);
                    }
                }));
            }
            Thread.sleep(Duration.ofNanos(drainAt - System.nanoTime()));
            entry.drain();
            long drained = System.nanoTime();
            // Requests that were past their admission when the drain came are still served
            // here; count the work once they have ended.
            long admittedBy = drained + Duration.ofSeconds(10).toNanos();
            while (!allAfter(inProgressSince, drained) && System.nanoTime() < admittedBy) {
                Thread.sleep(5);
            }
            int submittedAtDrain = entry.engine.submitted.size();
            for (Thread t : clients) {
                t.join();
            }
            List<Result> failed = results.stream().filter(r -> !r.ok()).toList();
            assertEquals(List.of(), failed, "failed requests");
            List<Result> after = results.stream().filter(r -> r.startNanos() > drained).toList();
            assertTrue(after.size() > 10, after.size() + " requests after the drain");
            after.forEach(r -> assertTrue(!r.servedBy().equals("d1"), "served by the draining node: " + r));
            assertEquals(submittedAtDrain, entry.engine.submitted.size(), "work started on the draining node");
            System.out.printf("drain: %d requests, %d after the drain all forwarded, 0 failed%n", results.size(),
                    after.size());
        }
    }

    @Test
    void aThousandConcurrentRequestsSpreadEvenlyOverEqualHosts() throws Exception {
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            var config = routing(List.of());
            int hosts = 5;
            for (int i = 0; i < hosts; i++) {
                cluster.add("s" + i, "r", config).engine.tokenDelay = Duration.ofMillis(25);
            }
            SimCluster.SimNode entry = cluster.add("front", "r", config);
            entry.servesModel = false;
            HttpClient plain = client("127.0.0.1");
            Map<String, AtomicInteger> served = new ConcurrentHashMap<>();
            var failures = new CopyOnWriteArrayList<Result>();
            var go = new CountDownLatch(1);
            var threads = new ArrayList<Thread>();
            for (int i = 0; i < 1000; i++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    Result r = request(plain, entry, false);
                    if (r.ok()) {
                        served.computeIfAbsent(r.servedBy(), k -> new AtomicInteger()).incrementAndGet();
                    } else {
                        failures.add(r);
                    }
                }));
            }
            go.countDown();
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(List.of(), failures, "failed requests");
            Map<String, Integer> counts = served.entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get()));
            System.out.println("1000 concurrent requests through a front node over " + hosts + " hosts: " + counts);
            assertEquals(hosts, counts.size(), counts.toString());
            for (int n : counts.values()) {
                assertTrue(n >= 160 && n <= 240, "not within ±20% of 200 each: " + counts);
            }
            // Every forward has ended: once fresh load records are in, the front sees idle hosts
            // (a forward never marked finished would keep its host loaded for good).
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            List<RouteExplanation.Line> lines;
            do {
                Thread.sleep(SimCluster.LOAD_INTERVAL);
                lines = entry.router.decide("m", RequestSource.unknown(), true).explanation().candidates();
            } while (!idle(lines) && System.nanoTime() < deadline);
            assertTrue(idle(lines), "after the burst: " + lines);
        }
    }

    /** No request in progress began before {@code nanos}. */
    private static boolean allAfter(AtomicLongArray inProgressSince, long nanos) {
        for (int i = 0; i < inProgressSince.length(); i++) {
            if (inProgressSince.get(i) - nanos < 0) {
                return false;
            }
        }
        return true;
    }

    /** Every host but the front node scored with load 0. */
    private static boolean idle(List<RouteExplanation.Line> lines) {
        return lines.stream().filter(l -> !l.node().equals("front")).allMatch(l -> l.load() != null && l.load() == 0.0);
    }

    /**
     * What a front node that serves no model, and so forwards to "server", answers a chat request
     * written by hand: {@code requestLine}, the usual headers and {@code extraHeader} (a full line
     * or nothing, sent as UTF-8 bytes).
     */
    private static String rawThroughAFront(String requestLine, String extraHeader) throws Exception {
        try (var cluster = new SimCluster(Duration.ofSeconds(2))) {
            var config = routing(List.of());
            cluster.add("server", "r", config);
            SimCluster.SimNode front = cluster.add("front", "r", config);
            front.servesModel = false;
            byte[] body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}"
                    .getBytes(StandardCharsets.UTF_8);
            var head = new ByteArrayOutputStream();
            head.write((requestLine + "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length + "\r\nConnection: close\r\n").getBytes(StandardCharsets.US_ASCII));
            head.write(extraHeader.getBytes(StandardCharsets.UTF_8));
            head.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            head.write(body);
            return RawHttp.exchange(front.port(), head.toByteArray(), false);
        }
    }

    @Test
    void anAbsoluteFormRequestTargetIsForwardedAsItsPath() throws Exception {
        String answer = rawThroughAFront("POST http://127.0.0.1/v1/chat/completions HTTP/1.1", "");
        assertEquals(200, RawHttp.statusOf(answer), answer);
        assertTrue(answer.toLowerCase(Locale.ROOT).contains("x-gpud-node: server"), answer);
    }

    @Test
    void anAuthorizationHeaderBeyondLatin1IsTheClientsErrorNotAForwardFailure() throws Exception {
        String answer = rawThroughAFront("POST /v1/chat/completions HTTP/1.1",
                "Authorization: Bearer \u00e9\u20ac\r\n");
        assertEquals(400, RawHttp.statusOf(answer), answer);
        assertTrue(answer.contains("authorization"), answer);
    }
}
