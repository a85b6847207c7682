package io.gpud.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.ApiConfig;
import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.core.NodeState;
import io.gpud.core.Time;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.PrefixHashes;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.PrefixCaches;
import io.gpud.metrics.MetricRegistry;
import io.gpud.routing.Candidate;
import io.gpud.routing.CandidateSource;
import io.gpud.routing.PeerForwarder;
import io.gpud.routing.PrefixNamesHeader;
import io.gpud.routing.Router;
import io.gpud.routing.RoutingMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The routing node names a request's prompt blocks as the serving engine will, and a forward
 * carries them: an entry node that may not serve (its own candidate is DRAINING) forwards
 * every generation route to a peer, whose engine receives the names.
 */
class PrefixNamesRoutingTest {

    private static final long SEED = 0x5EEDL;
    private static final int BLOCK = 4;
    private static final MonotonicClock CLOCK = MonotonicClock.system();
    private static final String CHAT = "[{\"role\":\"system\",\"content\":\"You are a careful assistant.\"},"
            + "{\"role\":\"user\",\"content\":\"Tell me about prefix caches, at length.\"}]";

    private final FakeEngine entryEngine = new FakeEngine("m", 4096);
    private final FakeEngine peerEngine = new FakeEngine("m", 4096);
    private final PrefixCaches caches = PrefixCaches.none("entry");
    private final HttpClient client = HttpClient.newHttpClient();
    private ApiServer peer;
    private ApiServer entry;

    /** A server for {@code engine} whose router knows this node as {@code self} and {@code peers}. */
    private static ApiServer server(String id, FakeEngine engine, RoutingConfig routing, PrefixCaches caches,
                                    Candidate self, List<Candidate> peers) {
        var registry = new MetricRegistry();
        var metrics = new RoutingMetrics(registry);
        CandidateSource source = new CandidateSource() {
            @Override
            public String localNode() {
                return id;
            }

            @Override
            public String localRegion() {
                return "r";
            }

            @Override
            public Candidate self() {
                return self;
            }

            @Override
            public List<Candidate> peers() {
                long now = CLOCK.nanos();
                return peers.stream().map(p -> new Candidate(p.node(), p.region(), p.host(), p.port(), true, "READY",
                        p.models(), 8, 0, 0, now, Duration.ZERO, false)).toList();
            }
        };
        var router = new Router(routing, source, null, caches, CLOCK, new Random(1), metrics);
        var forwarder = new PeerForwarder(id, router, Optional.empty(), metrics);
        var node = new FakeNodeControl();
        var config = new ApiConfig("127.0.0.1", 0, 0, 1 << 20, 64, Duration.ofSeconds(1));
        return new ApiServer(new ApiServer.Dependencies(config, node, () -> List.of(engine), registry, 16,
                Optional.empty(), Optional.of(new ApiServer.Routing(router, forwarder, Optional.empty())), false,
                Time.system())).start();
    }

    private void start() {
        entryEngine.prefixCache = FakeEngine.namingBlocks(SEED, BLOCK);
        peerEngine.prefixCache = FakeEngine.namingBlocks(SEED, BLOCK);
        RoutingConfig cacheOn = RoutingConfig.defaults().withCacheAffinity();
        peer = server("peer", peerEngine, cacheOn, PrefixCaches.none("peer"), new Candidate("peer", "r", "127.0.0.1",
                1, true, "READY", Set.of("m"), 8, 0, 0, 0, Duration.ZERO, true), List.of());
        var peerCandidate = new Candidate("peer", "r", "127.0.0.1", peer.port(), true, "READY", Set.of("m"), 8, 0, 0,
                0, Duration.ZERO, false);
        // the entry node's own candidate is DRAINING: the router sends everything to the peer
        entry = server("entry", entryEngine, cacheOn, caches, new Candidate("entry", "r", "127.0.0.1", 1, true,
                "DRAINING", Set.of("m"), 8, 0, 0, 0, Duration.ZERO, true), List.of(peerCandidate));
    }

    @AfterEach
    void stop() {
        if (entry != null) {
            entry.stop();
        }
        if (peer != null) {
            peer.stop();
        }
    }

    private HttpResponse<String> post(ApiServer to, String path, String body, Map<String, String> headers)
            throws Exception {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The names of the blocks the engine could reuse for {@code r}'s prompt: all but its last token's. */
    private static long[] names(GenerationRequest r) {
        return PrefixHashes.of(SEED, r.promptTokens(), r.promptTokens().length - 1, BLOCK);
    }

    @Test
    void everyGenerationRouteCarriesTheNamesTheServingEngineComputes() throws Exception {
        start();
        Map<String, String> bodies = Map.of(
                "/v1/chat/completions", "{\"model\":\"m\",\"max_tokens\":2,\"messages\":" + CHAT + "}",
                "/v1/completions", "{\"model\":\"m\",\"max_tokens\":2,\"prompt\":\"Once upon a time, in a land\"}",
                "/v1/responses", "{\"model\":\"m\",\"max_output_tokens\":2,\"instructions\":\"Be brief.\","
                        + "\"input\":\"Tell me about prefix caches, at length.\"}",
                "/api/chat", "{\"model\":\"m\",\"stream\":false,\"options\":{\"num_predict\":2},\"messages\":"
                        + CHAT + "}",
                "/api/generate", "{\"model\":\"m\",\"stream\":false,\"options\":{\"num_predict\":2},"
                        + "\"system\":\"Be brief.\",\"prompt\":\"Tell me about prefix caches.\"}");
        for (var e : bodies.entrySet()) {
            int before = peerEngine.submitted.size();
            var response = post(entry, e.getKey(), e.getValue(), Map.of(PeerRouting.EXPLAIN_HEADER, "1"));
            assertEquals(200, response.statusCode(), e.getKey() + ": " + response.body());
            assertEquals(before + 1, peerEngine.submitted.size(), e.getKey() + ": served by the peer");
            GenerationRequest served = peerEngine.submitted.get(before);
            long[] expected = names(served);
            assertTrue(expected.length >= 5, e.getKey() + ": a prompt of " + served.promptTokens().length + " tokens");
            assertArrayEquals(expected, served.prefixNames(), e.getKey());
            String decision = response.headers().firstValue(PeerRouting.DECISION_HEADER).orElse("");
            assertTrue(decision.contains("peer load=") && decision.contains("cache=1.00(0/" + expected.length + ")"),
                    decision);
        }
        assertTrue(entryEngine.submitted.isEmpty(), "the entry node only routed");
    }

    @Test
    void aPromptOfWholeBlocksIsNotCreditedItsLastBlockWhichTheEngineMustCompute() throws Exception {
        start();
        // BOS and 27 bytes: 28 tokens, 7 whole blocks of 4; the engine reuses at most 27 / 4 = 6
        String body = "{\"model\":\"m\",\"max_tokens\":2,\"prompt\":\"Once upon a time, in a land\"}";
        var response = post(entry, "/v1/completions", body, Map.of(PeerRouting.EXPLAIN_HEADER, "1"));
        GenerationRequest served = peerEngine.submitted.getLast();
        assertEquals(28, served.promptTokens().length);
        assertEquals(6, served.prefixNames().length);
        assertArrayEquals(Arrays.copyOf(PrefixHashes.of(SEED, served.promptTokens(), 28, BLOCK), 6),
                served.prefixNames());
        // a host holding the first 6 blocks holds all the engine could reuse: 6 of 6
        long[] all = PrefixHashes.of(SEED, served.promptTokens(), 28, BLOCK);
        caches.apply(new LoadRecord("peer", 1, 0, 0, 0, 0f, 9, new long[] {all[5]}, new long[0]));
        response = post(entry, "/v1/completions", body, Map.of(PeerRouting.EXPLAIN_HEADER, "1"));
        String decision = response.headers().firstValue(PeerRouting.DECISION_HEADER).orElse("");
        assertTrue(decision.contains("cache=0.00(6/6)"), decision);
    }

    @Test
    void aRequestRoutedToThisNodeIsServedWithTheNamesItsRoutingComputed() throws Exception {
        start();
        for (String body : List.of("{\"model\":\"m\",\"max_tokens\":2,\"messages\":" + CHAT + "}",
                "{\"model\":\"m\",\"max_tokens\":2,\"prompt\":\"Once upon a time, in a land\"}")) {
            String path = body.contains("messages") ? "/v1/chat/completions" : "/v1/completions";
            var response = post(peer, path, body, Map.of(PeerRouting.EXPLAIN_HEADER, "1"));
            assertEquals(200, response.statusCode(), response.body());
            assertTrue(response.headers().firstValue(PeerRouting.DECISION_HEADER).orElse("").startsWith("local"),
                    response.headers().map().toString());
            GenerationRequest served = peerEngine.submitted.getLast();
            assertTrue(served.prefixNames() != null && served.prefixNames().length >= 5, path);
            assertArrayEquals(names(served), served.prefixNames(), path);
        }
    }

    @Test
    void theHostHoldingThePromptShowsInTheExplanation() throws Exception {
        start();
        String body = "{\"model\":\"m\",\"max_tokens\":2,\"prompt\":\"Once upon a time, in a land\"}";
        post(entry, "/v1/completions", body, Map.of());
        long[] served = names(peerEngine.submitted.getLast());
        caches.apply(new LoadRecord("peer", 1, 0, 0, 0, 0f, 9, new long[] {served[served.length - 2]}, new long[0]));
        var response = post(entry, "/v1/completions", body, Map.of(PeerRouting.EXPLAIN_HEADER, "1"));
        String decision = response.headers().firstValue(PeerRouting.DECISION_HEADER).orElse("");
        int n = served.length;
        assertTrue(decision.contains(String.format(java.util.Locale.ROOT, "cache=%.2f(%d/%d)", 1.0 / n, n - 1, n)),
                decision);
    }

    @Test
    void namesAreTrustedOnlyFromAPeerAndAMalformedValueIsIgnored() throws Exception {
        start();
        String body = "{\"model\":\"m\",\"max_tokens\":2,\"prompt\":\"Once upon a time, in a land\"}";
        String forged = PrefixNamesHeader.encode(new long[] {1, 2, 3});
        // a client's header on the data port: the peer routes the request (to itself) and ignores it
        var response = post(peer, "/v1/completions", body, Map.of(PrefixNamesHeader.NAME, forged));
        assertEquals(200, response.statusCode(), response.body());
        GenerationRequest routedHere = peerEngine.submitted.getLast();
        assertArrayEquals(names(routedHere), routedHere.prefixNames(), "the names its routing computed, not the client's");
        // a peer's request with a malformed value: served, the engine names the blocks itself
        for (String bad : List.of("!!!", "AAAA", "A".repeat(PrefixNamesHeader.MAX_NAMES * 11))) {
            response = post(peer, "/v1/completions", body, Map.of(PeerForwarder.HOP_HEADER, "entry",
                    PrefixNamesHeader.NAME, bad));
            assertEquals(200, response.statusCode(), response.body());
            assertNull(peerEngine.submitted.getLast().prefixNames(), bad.length() + " characters");
        }
        response = post(peer, "/v1/completions", body, Map.of(PeerForwarder.HOP_HEADER, "entry",
                PrefixNamesHeader.NAME, forged));
        assertArrayEquals(new long[] {1, 2, 3}, peerEngine.submitted.getLast().prefixNames());
    }

    @Test
    void theHeaderRoundTripsWithinItsBound() {
        long[] names = new Random(3).longs(PrefixNamesHeader.MAX_NAMES + 10).toArray();
        String value = PrefixNamesHeader.encode(names);
        assertEquals(10_923, value.length());
        assertArrayEquals(Arrays.copyOf(names, PrefixNamesHeader.MAX_NAMES), PrefixNamesHeader.decode(value));
        assertNull(PrefixNamesHeader.encode(new long[0]));
        assertNull(PrefixNamesHeader.decode(value + "A"), "longer than the bound");
        assertNull(PrefixNamesHeader.decode("AAAAAAA"), "not a whole name");
        assertNull(PrefixNamesHeader.decode(""));
        assertNull(PrefixNamesHeader.decode(null));
    }

    @Test
    void withTheCacheTermOffNothingIsNamed() throws Exception {
        entryEngine.prefixCache = FakeEngine.namingBlocks(SEED, BLOCK);
        peerEngine.prefixCache = FakeEngine.namingBlocks(SEED, BLOCK);
        peer = server("peer", peerEngine, RoutingConfig.defaults(), PrefixCaches.none("peer"), null, List.of());
        var peerCandidate = new Candidate("peer", "r", "127.0.0.1", peer.port(), true, "READY", Set.of("m"), 8, 0, 0,
                0, Duration.ZERO, false);
        entry = server("entry", entryEngine, RoutingConfig.defaults(), caches, new Candidate("entry", "r",
                "127.0.0.1", 1, true, NodeState.DRAINING.name(), Set.of("m"), 8, 0, 0, 0, Duration.ZERO, true),
                List.of(peerCandidate));
        var response = post(entry, "/v1/completions", "{\"model\":\"m\",\"max_tokens\":2,\"prompt\":\"Once upon a "
                + "time\"}", Map.of());
        assertEquals(200, response.statusCode(), response.body());
        assertNull(peerEngine.submitted.getLast().prefixNames());
    }
}
