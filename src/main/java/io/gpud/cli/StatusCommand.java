package io.gpud.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gpud status}: this node and the cluster as it sees it. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show this node: id, region, state, in-flight, queue depth, models and members.")
final class StatusCommand implements Callable<Integer> {

    static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    AdminOptions admin;

    @Option(names = "--json", description = "Print the status document as JSON.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String body = admin.client().get("/v1/status");
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(body);
        } else {
            print(JSON.readTree(body), out);
        }
        out.flush();
        return 0;
    }

    private static void print(JsonNode s, PrintWriter out) {
        out.printf("node       %s (region %s, version %s, up %ds)%n", s.path("nodeId").asText(),
                s.path("region").asText(), s.path("version").asText(), s.path("uptimeSeconds").asLong());
        out.printf("state      %s%n", s.path("state").asText());
        out.printf("in flight  %d   queued %d%n", s.path("inFlight").asInt(), s.path("queueDepth").asInt());
        out.println("models");
        if (s.path("models").isEmpty()) {
            out.println("  (none)");
        }
        for (JsonNode m : s.path("models")) {
            out.printf("  %-24s %-8s %-8s %,d parameters, context %d, %s, version %s%n", m.path("name").asText(),
                    m.path("format").asText(), m.path("architecture").asText(), m.path("parameters").asLong(),
                    m.path("contextLength").asInt(), m.path("weightType").asText(), m.path("version").asText());
        }
        JsonNode load = s.path("modelLoad");
        if (load.isObject()) {
            out.printf("model load %s %s: %.0f / %.0f MB, %.1f MB/s, ETA %d s%s%n", load.path("model").asText(),
                    load.path("state").asText(), load.path("bytes").asLong() / 1e6,
                    load.path("totalBytes").asLong() / 1e6, load.path("bytesPerSecond").asDouble() / 1e6,
                    load.path("etaSeconds").asLong(),
                    load.path("message").isTextual() ? " (" + load.path("message").asText() + ")" : "");
        }
        out.println("members");
        out.printf("  %-24s %-12s %-8s %-10s %5s %9s  %s%n", "NODE", "REGION", "STATE", "NODE STATE", "INC", "RTT",
                "ADDRESS");
        for (JsonNode m : s.path("members")) {
            String rtt = m.path("rttMs").isNumber() ? String.format("%.2f ms", m.path("rttMs").asDouble()) : "-";
            out.printf("  %-24s %-12s %-8s %-10s %5d %9s  %s%n", m.path("nodeId").asText(), m.path("region").asText(),
                    m.path("state").asText(), m.path("nodeState").asText(), m.path("incarnation").asLong(), rtt,
                    m.path("address").asText());
        }
        if (!s.path("regions").isEmpty()) {
            out.println("regions");
            for (JsonNode r : s.path("regions")) {
                out.printf("  %-12s %4d healthy, capacity %d, %d model(s), bridge %s, %d ms ago%n",
                        r.path("region").asText(), r.path("healthyHosts").asInt(), r.path("capacity").asInt(),
                        r.path("models").size(), r.path("bridge").asText(), r.path("ageMs").asLong());
            }
        }
    }
}
