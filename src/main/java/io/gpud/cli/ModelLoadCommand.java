package io.gpud.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gpud model load NAME[@VERSION]}: hot reload over the admin socket. */
@Command(name = "load", mixinStandardHelpOptions = true,
        description = "Load a version of the served model from the model store and swap it in without failing a "
                + "request. Without @VERSION: the version the store's current pointer names. Waits until the new "
                + "version serves (exit 0) or the load fails (exit 1; the old version keeps serving).")
final class ModelLoadCommand implements Callable<Integer> {
    private static final Duration POLL = Duration.ofMillis(500);

    @Mixin
    AdminOptions admin;

    @Parameters(paramLabel = "NAME[@VERSION]", description = "The model and, optionally, the version.")
    String target;

    @Option(names = "--no-wait", description = "Return once the load has started.")
    boolean noWait;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10m",
            description = "Give up waiting after this long, exit 1 (default ${DEFAULT-VALUE}); the load goes on.")
    String timeout;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Duration limit = DurationOption.parse(spec, "--timeout", timeout, "30s or 5m");
        int at = target.indexOf('@');
        ObjectNode body = StatusCommand.JSON.createObjectNode();
        body.put("name", at < 0 ? target : target.substring(0, at));
        if (at >= 0) {
            body.put("version", target.substring(at + 1));
        }
        AdminClient client = admin.client();
        JsonNode started = StatusCommand.JSON.readTree(client.post("/v1/models/load", body.toString()));
        String model = started.path("model").asText() + "@" + started.path("version").asText();
        PrintWriter out = spec.commandLine().getOut();
        out.println("loading " + model);
        out.flush();
        if (noWait) {
            return 0;
        }
        String[] lastLine = {""};
        var done = client.pollStatus(limit, POLL, status -> {
            JsonNode load = status.path("modelLoad");
            if (!load.path("model").asText().equals(model)) {
                return null;
            }
            String state = load.path("state").asText();
            String line = String.format("%s %s: %.0f / %.0f MB, %.1f MB/s%s", model, state,
                    load.path("bytes").asLong() / 1e6, load.path("totalBytes").asLong() / 1e6,
                    load.path("bytesPerSecond").asDouble() / 1e6,
                    state.equals("loading") ? ", ETA " + load.path("etaSeconds").asLong() + " s" : "");
            if (!line.equals(lastLine[0])) {
                out.println(line);
                out.flush();
                lastLine[0] = line;
            }
            if (state.equals("serving")) {
                out.println(model + " serves: " + load.path("message").asText());
                out.flush();
                return 0;
            }
            if (state.equals("failed")) {
                spec.commandLine().getErr().println("gpud: load of " + model + " failed: "
                        + load.path("message").asText());
                spec.commandLine().getErr().flush();
                return 1;
            }
            return null;
        });
        if (done.isPresent()) {
            return done.get();
        }
        spec.commandLine().getErr().println("gpud: " + model + " still loading after " + timeout);
        spec.commandLine().getErr().flush();
        return 1;
    }
}
