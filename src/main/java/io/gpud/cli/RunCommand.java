package io.gpud.cli;

import io.gpud.config.ConfigLoader;
import io.gpud.config.GpudConfig;
import io.gpud.node.Node;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code gpud run}: the daemon in the foreground. SIGTERM or SIGINT drain the node (new
 * requests are refused, in-flight ones finish, up to {@code node.drainTimeout}), then the
 * process exits 0, which is what systemd expects from a stop. A node whose data listener died
 * exits 1 at once (it is QUARANTINED first), for systemd to restart it.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the daemon in the foreground. With no configuration it starts a single-node "
                + "cluster in region 'local'.")
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file (see config/gpud.yaml).")
    Path configFile;

    @Option(names = "--demo", description = "Without --model, generate a small random-weight model in the data dir "
            + "and serve it as 'gpud-demo'.")
    boolean demo;

    @Option(names = "--model", paramLabel = "PATH", description = "Model file to serve (GGUF or llama2.c .bin).")
    Path model;

    @Option(names = "--model-name", paramLabel = "NAME", description = "Name clients use for the model.")
    String modelName;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "Tokenizer file for llama2.c models.")
    Path tokenizer;

    @Option(names = "--port", paramLabel = "N", description = "Data-plane HTTP port (default 8400).")
    Integer port;

    @Option(names = "--metrics-port", paramLabel = "N", description = "Prometheus metrics port (default 9400).")
    Integer metricsPort;

    @Option(names = "--host", paramLabel = "ADDR", description = "Address to listen on (default 0.0.0.0).")
    String host;

    @Option(names = "--admin-socket", paramLabel = "PATH", description = "Admin API Unix socket.")
    Path adminSocket;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "State directory.")
    Path dataDir;

    @Option(names = "--node-id", paramLabel = "ID", description = "This node's id (default: generated once, kept in the data dir).")
    String nodeId;

    @Option(names = "--region", paramLabel = "R", description = "This node's region (default 'local').")
    String region;

    @Option(names = "--secure", paramLabel = "MODE", description = "Secure envelope: off (default), nitro, or local "
            + "(INSECURE development mode: enclave program as a child process, test PKI, KMS endpoint on loopback).")
    String secure;

    @Option(names = "--gossip-port", paramLabel = "N", description = "Gossip port, UDP and TCP (default 7946).")
    Integer gossipPort;

    @Option(names = "--join", paramLabel = "HOST:PORT", split = ",",
            description = "Gossip seeds to join through, comma-separated.")
    List<String> join;

    @Option(names = "--insecure-cluster", description = "Allow cluster traffic without authentication (gossip with "
            + "no keyring): for demos and tests only; refused with secure.environment production. Sets gossip.insecure.")
    boolean insecureCluster;

    @Option(names = "--log-format", paramLabel = "FORMAT", description = "text (default) or json.")
    String logFormat;

    @Override
    public Integer call() throws Exception {
        GpudConfig config = ConfigLoader.fromEnvironment().load(configFile, overrides());
        Logging.apply(config.log());

        var stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());

        try (Node node = Node.start(config)) {
            node.failed().thenRun(stop::countDown);
            stop.await();
            if (node.failed().isDone()) {
                log.error("exiting for the supervisor to restart the node: {}", node.failed().join());
                return 1;
            }
            log.info("stop requested: draining (up to {})", config.node().drainTimeout());
            node.drain();
            if (!node.awaitDrained(config.node().drainTimeout())) {
                log.warn("drain timed out after {} with {} still in flight; stopping anyway",
                        config.node().drainTimeout(), node.inFlight());
            }
        }
        log.info("stopped");
        return 0;
    }

    /** Flags as dotted config keys, applied after the file. */
    Map<String, String> overrides() {
        var o = new LinkedHashMap<String, String>();
        if (demo) {
            o.put("model.demo", "true");
        }
        putIf(o, "model.path", model);
        putIf(o, "model.name", modelName);
        putIf(o, "model.tokenizer", tokenizer);
        putIf(o, "api.port", port);
        putIf(o, "api.metricsPort", metricsPort);
        putIf(o, "api.host", host);
        putIf(o, "node.adminSocket", adminSocket);
        putIf(o, "node.dataDir", dataDir);
        putIf(o, "node.id", nodeId);
        putIf(o, "node.region", region);
        putIf(o, "gossip.port", gossipPort);
        if (join != null) {
            o.put("gossip.join", String.join(",", join));
        }
        if (insecureCluster) {
            o.put("gossip.insecure", "true");
        }
        putIf(o, "log.format", logFormat);
        putIf(o, "secure.mode", secure);
        return o;
    }

    private static void putIf(Map<String, String> o, String key, Object value) {
        if (value != null) {
            o.put(key, value.toString());
        }
    }
}
