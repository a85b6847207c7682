package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.gpud.model.ModelStore;
import io.gpud.node.LoopbackNodes;
import io.gpud.node.Node;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node in this JVM with every metric family switched on (a model from the store, routing,
 * the LAN and WAN gossip pools) serves one completion, then its {@code /metrics} is scraped
 * over HTTP: every {@code gpud_} family keeps the name, type, help text and label names it
 * has always had, the JVM's and the process's metrics and {@code gpud_build_info} are there,
 * and {@code promtool check metrics} finds nothing to report. Without promtool on the PATH
 * that check is skipped on a developer machine and fails under {@code CI=true}
 * ({@code .ci/run} installs it).
 */
class NodeMetricsTest {

    /** Every gpud_ family a node exports: type, help text and label names. */
    private static final Map<String, Expected> GPUD_FAMILIES = gpudFamilies();

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;

    private static Node node;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void startNodeAndServeOneCompletion() throws Exception {
        Path store = dir.resolve("store");
        SlowModel.write(store.resolve("slow/v1"), 1);
        ModelStore.publishAndSetCurrent(store.resolve("slow/v1"), 4 << 20);
        var config = LoopbackNodes.config(dir, "node", Map.of(
                "model.name", "slow",
                "store.root", store.toString(),
                "gossip.wanEnabled", "true",
                "gossip.wanPort", "0"));
        node = Node.start(config);
        var completion = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + node.port() + "/v1/completions"))
                        .header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"slow\",\"prompt\":\"Once\",\"max_tokens\":2}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, completion.statusCode(), completion.body());
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void everyGpudFamilyKeepsItsNameTypeHelpAndLabels() throws Exception {
        // The request's own counters are recorded after its last byte: scrape until they show.
        Exposition exposition = Exposition.parse(scrapeUntil("gpud_http_requests_total{route=\"/v1/completions\""));

        exposition.families().forEach((name, family) -> {
            if (name.startsWith("gpud_")) {
                Expected want = GPUD_FAMILIES.get(name);
                assertTrue(want != null, "an unknown family " + name);
                assertEquals(want.type() + ": " + want.help(), family.type() + ": " + family.help(), name);
            }
        });
        // The client writes a family with labels only once it has a series.
        GPUD_FAMILIES.forEach((name, want) -> assertTrue(
                exposition.families().containsKey(name) || !want.labelNames().isEmpty(), name + " is missing"));

        exposition.families().forEach((name, family) -> {
            Expected want = GPUD_FAMILIES.get(name);
            if (want == null) {
                return;
            }
            for (Sample sample : family.samples()) {
                Set<String> labelNames = new TreeSet<>(sample.labels().keySet());
                labelNames.remove("le");
                assertEquals(new TreeSet<>(want.labelNames()), labelNames, "label names of " + sample);
            }
        });
        for (String recorded : List.of("gpud_http_requests_total", "gpud_http_request_duration_seconds",
                "gpud_time_to_first_token_seconds", "gpud_generated_tokens_total", "gpud_prompt_tokens_total",
                "gpud_route_decisions_total", "gpud_route_decision_seconds", "gpud_build_info",
                "gpud_prefix_cache_lookups_total", "gpud_prefix_cache_lookup_tokens_total",
                "gpud_prefix_cache_hit_tokens_total", "gpud_prefix_cache_evictions_total", "gpud_prefix_cache_blocks_in_use",
                "gpud_prefix_cache_blocks_cached", "gpud_prefix_cache_blocks")) {
            assertTrue(!exposition.families().get(recorded).samples().isEmpty(), recorded + " has no series");
        }
    }

    /**
     * A chat that comes back with the same conversation reuses its prefix: the second
     * answer's usage counts cached prompt tokens, and the prefix cache's hit counter moves.
     */
    @Test
    void aSecondChatWithTheSamePrefixReportsCachedTokensAndMovesTheHitMetrics() throws Exception {
        String chat = "{\"model\":\"slow\",\"max_tokens\":2,\"messages\":[{\"role\":\"system\",\"content\":\""
                + "You are a careful assistant. Answer briefly and plainly. ".repeat(2)
                + "\"},{\"role\":\"user\",\"content\":\"Hello there\"}]}";
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        double hitsBefore = prefixHits();
        int[] cached = new int[2];
        for (int i = 0; i < 2; i++) {
            var answer = HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + node.port() + "/v1/chat/completions"))
                            .header("content-type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(chat))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, answer.statusCode(), answer.body());
            cached[i] = json.readTree(answer.body()).at("/usage/prompt_tokens_details/cached_tokens").asInt(-1);
        }
        assertTrue(cached[0] >= 0, "no usage.prompt_tokens_details.cached_tokens");
        assertTrue(cached[1] > 0, "the second chat reused no prompt tokens");
        assertTrue(prefixHits() >= hitsBefore + cached[1], "gpud_prefix_cache_hit_tokens_total did not move");
    }

    private static double prefixHits() throws Exception {
        Family hits = Exposition.parse(scrape(null).body()).families().get("gpud_prefix_cache_hit_tokens_total");
        return hits.samples().stream().filter(s -> "slow".equals(s.labels().get("model")))
                .mapToDouble(Sample::value).sum();
    }

    @Test
    void jvmAndProcessMetricsAndBuildInfoAreExported() throws Exception {
        Exposition exposition = Exposition.parse(scrape(null).body());
        for (String name : List.of("jvm_gc_collection_seconds", "jvm_memory_used_bytes", "jvm_memory_pool_used_bytes",
                "jvm_threads_current", "jvm_threads_state", "jvm_buffer_pool_used_bytes", "jvm_runtime_info",
                "process_cpu_seconds_total", "process_start_time_seconds", "process_open_fds", "process_max_fds",
                "process_resident_memory_bytes")) {
            assertTrue(exposition.families().containsKey(name), name + " is missing: "
                    + exposition.families().keySet());
        }
        Family buildInfo = exposition.families().get("gpud_build_info");
        assertEquals(1, buildInfo.samples().size(), buildInfo.toString());
        Sample build = buildInfo.samples().getFirst();
        assertEquals(1.0, build.value());
        assertTrue(!build.labels().get("version").isEmpty(), build.toString());
        double startedAt = exposition.families().get("process_start_time_seconds").samples().getFirst().value();
        double now = System.currentTimeMillis() / 1000.0;
        assertTrue(startedAt > now - 24 * 3600 && startedAt <= now, "process start time " + startedAt + ", now " + now);
    }

    @Test
    void openMetricsWhenTheScraperAsksForIt() throws Exception {
        var openMetrics = scrape("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
        assertEquals("application/openmetrics-text; version=1.0.0; charset=utf-8",
                openMetrics.headers().firstValue("content-type").orElse(""));
        assertTrue(openMetrics.body().endsWith("# EOF\n"), "an OpenMetrics body ends with # EOF");
        assertTrue(openMetrics.body().contains("# TYPE gpud_build info\n"), openMetrics.body());

        // A scraper that prefers protobuf gets the text format it also accepts.
        var protobufFirst = scrape("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                + "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1");
        assertEquals(200, protobufFirst.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8",
                protobufFirst.headers().firstValue("content-type").orElse(""));
        Exposition.parse(protobufFirst.body());
    }

    @Test
    void promtoolFindsNothingToReportInAScrape() throws Exception {
        Path promtool = onPath("promtool");
        if (promtool == null) {
            String missing = "promtool is not on the PATH (Debian: apt-get install prometheus; .ci/run installs it)";
            if ("true".equals(System.getenv("CI"))) {
                fail(missing);
            }
            Assumptions.abort(missing);
        }
        String body = scrapeUntil("gpud_http_requests_total{route=\"/v1/completions\"");
        Path scraped = dir.resolve("scrape.prom");
        Files.writeString(scraped, body);
        Process check = new ProcessBuilder(promtool.toString(), "check", "metrics")
                .redirectInput(scraped.toFile())
                .redirectErrorStream(true)
                .start();
        String report;
        try (var out = check.getInputStream()) {
            report = new String(out.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(check.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "promtool did not finish");
        assertEquals(0, check.exitValue(), "promtool check metrics:\n" + report);
        assertEquals("", report.strip(), "promtool check metrics reports problems");
    }

    private static Path onPath(String program) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, program))
                .filter(Files::isExecutable)
                .findFirst().orElse(null);
    }

    private static HttpResponse<String> scrape(String accept) throws IOException, InterruptedException {
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.metricsPort() + "/metrics"));
        if (accept != null) {
            request.header("accept", accept);
        }
        var response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        return response;
    }

    private static String scrapeUntil(String fragment) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        String body = scrape(null).body();
        while (!body.contains(fragment) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            body = scrape(null).body();
        }
        assertTrue(body.contains(fragment), fragment + " never appeared in:\n" + body);
        return body;
    }

    private static Map<String, Expected> gpudFamilies() {
        var families = new LinkedHashMap<String, Expected>();
        families.put("gpud_build_info", Expected.of("gauge",
                "The running gpud build: a constant 1 labelled with its version", "version"));
        families.put("gpud_node_state", Expected.of("gauge",
                "Node state: 0 starting, 1 ready, 2 draining, 3 drained, 4 quarantined"));
        families.put("gpud_route_decisions_total", Expected.of("counter", "Routing decisions by outcome", "outcome"));
        families.put("gpud_route_decision_seconds", Expected.of("histogram", "Time to decide where a request runs"));
        families.put("gpud_route_forward_attempts_total", Expected.of("counter",
                "Requests forwarded to peers, by result", "result"));
        families.put("gpud_route_circuits_opened_total", Expected.of("counter", "Peer circuit breakers opened", "peer"));
        families.put("gpud_http_requests_total", Expected.of("counter",
                "HTTP requests answered, by route pattern and status code", "route", "status"));
        families.put("gpud_http_request_duration_seconds", Expected.of("histogram",
                "Time from request to the last byte of the response, by route pattern", "route"));
        families.put("gpud_time_to_first_token_seconds", Expected.of("histogram",
                "Time from request to the first generated token, by model", "model"));
        families.put("gpud_generated_tokens_total", Expected.of("counter",
                "Tokens generated and delivered, by model", "model"));
        families.put("gpud_prompt_tokens_total", Expected.of("counter", "Prompt tokens admitted, by model", "model"));
        families.put("gpud_inflight_requests", Expected.of("gauge",
                "Sequences admitted and not finished, over all models"));
        families.put("gpud_queue_depth", Expected.of("gauge", "Sequences admitted and waiting to start, over all models"));
        families.put("gpud_prefix_cache_lookups_total", Expected.of("counter",
                "Sequences that looked for a cached prefix, by model", "model"));
        families.put("gpud_prefix_cache_lookup_tokens_total", Expected.of("counter",
                "Prompt tokens of the requests that looked for a cached prefix, by model", "model"));
        families.put("gpud_prefix_cache_hit_tokens_total", Expected.of("counter",
                "Prompt tokens whose keys and values came from the prefix cache, by model", "model"));
        families.put("gpud_prefix_cache_evictions_total", Expected.of("counter",
                "Cached KV blocks evicted to make room, by model", "model"));
        families.put("gpud_prefix_cache_blocks_in_use", Expected.of("gauge",
                "KV blocks held by running sequences, by model", "model"));
        families.put("gpud_prefix_cache_blocks_cached", Expected.of("gauge",
                "KV blocks held by no sequence, kept for reuse until evicted, by model", "model"));
        families.put("gpud_prefix_cache_blocks", Expected.of("gauge", "KV blocks in all, by model", "model"));
        for (String pool : List.of("lan", "wan")) {
            String p = "gpud_gossip_" + pool + "_";
            String of = " (" + pool + " pool)";
            families.put(p + "probes_total", Expected.of("counter", "Probes started" + of));
            families.put(p + "probe_failures_total", Expected.of("counter", "Probes with no direct or indirect ack" + of));
            families.put(p + "suspicions_total", Expected.of("counter", "Members this node began to suspect" + of));
            families.put(p + "refutations_total", Expected.of("counter",
                    "Times this node refuted a suspicion or death of itself" + of));
            families.put(p + "deaths_total", Expected.of("counter", "Members this node saw die or leave" + of));
            families.put(p + "sent_bytes_total", Expected.of("counter", "Gossip bytes sent, UDP and TCP" + of));
            families.put(p + "received_bytes_total", Expected.of("counter", "Gossip bytes received, UDP and TCP" + of));
            families.put(p + "dropped_packets_total", Expected.of("counter",
                    "Packets dropped because they did not decrypt or parse" + of, "reason"));
            families.put(p + "rejected_messages_total", Expected.of("counter", "Messages and streams refused: an "
                    + "absurd incarnation, a relay or stream request naming an address that is no member, a reply "
                    + "larger than its request, a stream over the connection or memory budget" + of, "reason"));
        }
        families.put("gpud_gossip_members", Expected.of("gauge",
                "Members this node sees alive or suspect, itself included"));
        families.put("gpud_gossip_health_score", Expected.of("gauge", "Lifeguard local health score: 0 is healthy"));
        families.put("gpud_model_load_bytes", Expected.of("gauge", "Bytes read and checked by the latest model load"));
        families.put("gpud_model_load_total_bytes", Expected.of("gauge",
                "Bytes of the version the latest model load reads"));
        families.put("gpud_model_load_bytes_per_second", Expected.of("gauge", "Average read rate of the latest model load"));
        families.put("gpud_model_load_eta_seconds", Expected.of("gauge",
                "Seconds left in the latest model load at its rate"));
        return families;
    }

    /** A family as it must be exported. */
    record Expected(String type, String help, List<String> labelNames) {
        static Expected of(String type, String help, String... labelNames) {
            return new Expected(type, help, List.of(labelNames));
        }
    }

    /** A family as it was exported. */
    record Family(String type, String help, List<Sample> samples) {
    }

    record Sample(String name, Map<String, String> labels, double value) {
    }

    /**
     * The Prometheus text format (0.0.4), read strictly: every family has one HELP and one
     * TYPE line before its samples, and every sample belongs to the family above it.
     */
    record Exposition(Map<String, Family> families) {
        private static final Pattern HELP = Pattern.compile("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)");
        private static final Pattern TYPE =
                Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
        private static final Pattern SAMPLE =
                Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)");
        private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

        static Exposition parse(String text) {
            assertTrue(text.endsWith("\n"), "the exposition ends with a newline");
            var families = new LinkedHashMap<String, Family>();
            String help = null;
            String helpOf = null;
            String name = null;
            String type = null;
            List<Sample> samples = new ArrayList<>();
            for (String line : text.split("\n")) {
                Matcher m;
                if ((m = HELP.matcher(line)).matches()) {
                    if (name != null) {
                        families.put(name, new Family(type, help, List.copyOf(samples)));
                    }
                    helpOf = m.group(1);
                    help = m.group(2).replace("\\n", "\n").replace("\\\\", "\\");
                    name = null;
                    samples.clear();
                } else if ((m = TYPE.matcher(line)).matches()) {
                    assertEquals(helpOf, m.group(1), "HELP and TYPE name different families: " + line);
                    assertTrue(!families.containsKey(m.group(1)), m.group(1) + " appears twice");
                    name = m.group(1);
                    type = m.group(2);
                } else if ((m = SAMPLE.matcher(line)).matches()) {
                    assertTrue(name != null, "sample before its family's TYPE: " + line);
                    assertTrue(belongs(m.group(1), name, type), line + " does not belong to " + type + " " + name);
                    samples.add(new Sample(m.group(1), labels(m.group(2), line), value(m.group(3), line)));
                } else {
                    fail("not a line of the text format: " + line);
                }
            }
            if (name != null) {
                families.put(name, new Family(type, help, List.copyOf(samples)));
            }
            return new Exposition(families);
        }

        private static boolean belongs(String sample, String family, String type) {
            return switch (type) {
                case "histogram" -> Set.of(family + "_bucket", family + "_sum", family + "_count").contains(sample);
                case "summary" -> Set.of(family, family + "_sum", family + "_count").contains(sample);
                default -> sample.equals(family);
            };
        }

        private static Map<String, String> labels(String text, String line) {
            var labels = new TreeMap<String, String>();
            if (text == null) {
                return labels;
            }
            Matcher m = LABEL.matcher(text);
            int at = 0;
            while (at < text.length()) {
                assertTrue(m.find(at) && m.start() == at, "bad labels at " + at + ": " + line);
                assertTrue(labels.put(m.group(1), m.group(2)) == null, "label " + m.group(1) + " twice: " + line);
                at = m.end();
            }
            return labels;
        }

        private static double value(String text, String line) {
            return switch (text) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> {
                    try {
                        yield Double.parseDouble(text);
                    } catch (NumberFormatException e) {
                        throw new AssertionError("bad value in " + line, e);
                    }
                }
            };
        }
    }
}
