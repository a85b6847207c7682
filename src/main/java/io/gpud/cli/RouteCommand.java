package io.gpud.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gpud route --explain}: where the daemon would send a request now, and why. */
@Command(name = "route", mixinStandardHelpOptions = true,
        description = "Show where this node would route a request now: every candidate with its load, latency "
                + "affinity and cache sub-scores, and why the others were filtered.")
final class RouteCommand implements Callable<Integer> {

    @Mixin
    AdminOptions admin;

    @Option(names = "--explain", required = true, description = "Explain the decision (the only mode).")
    boolean explain;

    @Option(names = "--model", required = true, paramLabel = "M", description = "The model the request asks for.")
    String model;

    @Option(names = "--source-ip", paramLabel = "IP", description = "The client address affinity rules see.")
    String sourceIp;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt, as /v1/completions takes it: the "
            + "cache term shows how many of its KV blocks each candidate holds (with routing.weightCache above 0).")
    String prompt;

    @Option(names = "--json", description = "Print the explanation as JSON.")
    boolean json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        var body = StatusCommand.JSON.createObjectNode().put("model", model);
        if (sourceIp != null) {
            body.put("sourceIp", sourceIp);
        }
        if (prompt != null) {
            body.put("prompt", prompt);
        }
        String answer = admin.client().post("/v1/route/explain", StatusCommand.JSON.writeValueAsString(body));
        PrintWriter out = spec.commandLine().getOut();
        JsonNode e = StatusCommand.JSON.readTree(answer);
        if (json) {
            out.println(StatusCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(e));
        } else {
            print(e, out);
        }
        out.flush();
        return 0;
    }

    private static void print(JsonNode e, PrintWriter out) {
        out.printf(Locale.ROOT, "model %s from %s: %s%s%n", e.path("model").asText(), e.path("source").asText(),
                e.path("outcome").asText(), e.path("chosen").isNull() ? ""
                        : " -> " + e.path("chosen").asText() + " (" + e.path("chosenRegion").asText() + ")");
        out.printf(Locale.ROOT, "preferred region %s%s; %s; added latency %.1f ms; decided in %.1f us%n",
                e.path("preferredRegion").asText(),
                e.path("affinityRule").isNull() ? "" : " (affinity rule " + e.path("affinityRule").asText() + ")",
                e.path("tier").isNull() ? "no tier" : e.path("tier").asText(), e.path("addedLatencyMs").asDouble(),
                e.path("decisionMicros").asDouble());
        if (!e.path("note").isNull()) {
            out.println("note: " + e.path("note").asText());
        }
        int blocks = e.path("requestBlocks").asInt();
        if (blocks > 0) {
            out.printf(Locale.ROOT, "prompt: %d whole KV blocks; CACHE = 1 - held blocks / %d (held/total)%n", blocks,
                    blocks);
        }
        out.printf(Locale.ROOT, "%-24s %-14s %-12s %6s %8s %8s %15s %6s %9s  %s%n", "NODE", "REGION", "STATE", "LOAD",
                "LATENCY", "AFFINITY", "CACHE", "SCORE", "RTT_MS", "");
        for (JsonNode l : e.path("candidates")) {
            String flags = l.path("chosen").asBoolean() ? "<- chosen" : !l.path("filtered").isNull()
                    ? "filtered: " + l.path("filtered").asText() : l.path("saturated").asBoolean() ? "saturated" : "";
            String cache = num(l.path("cache")) + (blocks > 0 ? " (" + l.path("cachedBlocks").asInt() + "/" + blocks
                    + ")" : "");
            out.printf(Locale.ROOT, "%-24s %-14s %-12s %6s %8s %8s %15s %6s %9.2f  %s%n", l.path("node").asText(),
                    l.path("region").asText(), l.path("state").asText(), num(l.path("load")), num(l.path("latency")),
                    num(l.path("affinity")), cache, num(l.path("score")), l.path("rttMs").asDouble(), flags);
        }
    }

    private static String num(JsonNode v) {
        return v.isNull() || v.isMissingNode() ? "-" : String.format(Locale.ROOT, "%.3f", v.asDouble());
    }
}
