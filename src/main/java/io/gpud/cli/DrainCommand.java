package io.gpud.cli;

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gpud drain}: stop taking new work; in-flight requests finish. */
@Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Stop accepting new requests (they get 503 with Retry-After); in-flight requests finish.")
final class DrainCommand implements Callable<Integer> {

    private static final Duration POLL = Duration.ofMillis(100);

    @Mixin
    AdminOptions admin;

    @Option(names = "--wait", description = "Wait until nothing is in flight (state DRAINED).")
    boolean await;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "60s",
            description = "With --wait: give up after this long, exit 1 (default ${DEFAULT-VALUE}).")
    String timeout;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Duration limit = DurationOption.parse(spec, "--timeout", timeout, "30s or 5m");
        AdminClient client = admin.client();
        String state = StatusCommand.JSON.readTree(client.post("/v1/drain", "{}")).path("state").asText();
        var out = spec.commandLine().getOut();
        if (await && !"DRAINED".equals(state)) {
            var drained = client.pollStatus(limit, POLL,
                    status -> "DRAINED".equals(status.path("state").asText()) ? 0 : null);
            if (drained.isEmpty()) {
                var status = StatusCommand.JSON.readTree(client.get("/v1/status"));
                spec.commandLine().getErr().printf("gpud: drain did not finish within %s: state %s, %d in flight%n",
                        timeout, status.path("state").asText(), status.path("inFlight").asInt());
                return 1;
            }
            state = "DRAINED";
        }
        out.println(state);
        out.flush();
        return 0;
    }
}
