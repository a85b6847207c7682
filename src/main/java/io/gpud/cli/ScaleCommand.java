package io.gpud.cli;

import io.gpud.config.ConfigLoader;
import io.gpud.config.GpudConfig;
import io.gpud.config.PoolConfig;
import io.gpud.scaling.TraceReplay;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gpud scale}: the autoscaler's offline tools. */
@Command(name = "scale", mixinStandardHelpOptions = true, description = "Autoscaler tools.",
        subcommands = ScaleCommand.Simulate.class)
final class ScaleCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a subcommand is required: simulate");
    }

    /**
     * {@code gpud scale simulate}: replays a {@code t_seconds,rps} trace through the
     * autoscaler's controller on a simulated clock and prints {@code t_seconds desired
     * reason} for every decision.
     */
    @Command(name = "simulate", mixinStandardHelpOptions = true,
            description = "Replay a CSV trace (t_seconds,rps; one row per 10 s; a header line allowed) through "
                    + "the autoscaler, starting at the pool's minimum. Prints one line per decision: "
                    + "t_seconds desired reason.")
    static final class Simulate implements Callable<Integer> {

        /** A trace larger than this is refused before it is read. */
        static final long MAX_TRACE_BYTES = 256L << 20;

        @Spec
        CommandSpec spec;

        @Option(names = "--trace", required = true, paramLabel = "FILE", description = "The trace, CSV t_seconds,rps.")
        Path trace;

        @Option(names = "--pool", required = true, paramLabel = "NAME",
                description = "The pool whose limits apply (model-a 2-20, model-b 2-15, model-c 1-10 by default).")
        String pool;

        @Option(names = "--min", paramLabel = "N", description = "Override the pool's minimum.")
        Integer min;

        @Option(names = "--max", paramLabel = "N", description = "Override the pool's maximum.")
        Integer max;

        @Option(names = "--launch-delay", paramLabel = "DUR", defaultValue = "0s",
                description = "Time from asking for an instance to it serving (default ${DEFAULT-VALUE}).")
        String launchDelay;

        @Option(names = "--config", paramLabel = "FILE", description = "Take the scaling settings and pools from this file.")
        Path configFile;

        @Override
        public Integer call() throws IOException {
            GpudConfig config = ConfigLoader.fromEnvironment().load(configFile, Map.of());
            PoolConfig base = config.scaling().pools().get(pool);
            if (base == null && (min == null || max == null)) {
                throw new ParameterException(spec.commandLine(), "unknown pool '" + pool + "'; known: "
                        + config.scaling().pools().keySet().stream().sorted().toList() + " (or give --min and --max)");
            }
            PoolConfig p = new PoolConfig(pool,
                    min != null ? min : base.minInstances(),
                    max != null ? max : base.maxInstances(),
                    base != null ? base.autoScalingGroup() : "gpud-" + pool);
            Duration delay = DurationOption.parse(spec, "--launch-delay", launchDelay, "0s, 90s or 3m");
            if (!Files.isRegularFile(trace)) {
                throw new ParameterException(spec.commandLine(), "--trace " + trace + ": no such file");
            }
            long size = Files.size(trace);
            if (size > MAX_TRACE_BYTES) {
                throw new ParameterException(spec.commandLine(), "--trace " + trace + " is " + size
                        + " bytes, more than the " + MAX_TRACE_BYTES + " allowed");
            }
            List<TraceReplay.Row> rows;
            try (var in = Files.newBufferedReader(trace, StandardCharsets.UTF_8)) {
                rows = TraceReplay.parse(in, trace.toString());
            }
            PrintWriter out = spec.commandLine().getOut();
            for (TraceReplay.Step step : TraceReplay.replay(rows, p, config.scaling(), delay)) {
                out.println(step.line());
            }
            out.flush();
            return 0;
        }
    }
}
