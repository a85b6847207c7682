package io.gpud.node;

import io.gpud.api.AdminServer;
import io.gpud.api.ApiServer;
import io.gpud.api.KeyringOperation;
import io.gpud.api.ModelReload;
import io.gpud.api.NodeControl;
import io.gpud.api.NodeStatus;
import io.gpud.config.GpudConfig;
import io.gpud.config.ModelConfig;
import io.gpud.core.GpudException;
import io.gpud.core.Ids;
import io.gpud.core.NodeState;
import io.gpud.enclave.SecureStack;
import io.gpud.inference.DemoModel;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.cuda.Backends;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.MemberView;
import io.gpud.membership.MembershipAgent;
import io.gpud.membership.NodeMetadata;
import io.gpud.metrics.MetricRegistry;
import io.gpud.routing.MembershipCandidates;
import io.gpud.routing.PeerForwarder;
import io.gpud.routing.RequestSource;
import io.gpud.routing.RouteExplanation;
import io.gpud.routing.Router;
import io.gpud.routing.RoutingMetrics;
import io.gpud.routing.Vivaldi;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import io.gpud.scaling.Autoscaler;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.scaling.DrainTarget;
import io.gpud.scaling.InstanceMetadataClient;
import io.gpud.scaling.TerminationWatcher;
import io.gpud.core.MonotonicClock;
import io.gpud.state.LeaderLease;
import io.gpud.state.StateStore;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: holds every subsystem, starts them in order and stops them in
 * reverse. Nothing else wires subsystems together.
 *
 * <p>Start order: data directory and node id, metrics, the model, the admin socket, the
 * secure envelope's stack (when enabled), the data-plane and metrics listeners, gossip
 * membership, then READY; then the state store and this node's registry item, the pool
 * leases and the autoscaler ({@code scaling.enabled}), and the lifecycle-hook watcher
 * ({@code lifecycle.watch}). {@link #close()} undoes it backwards: leases are released,
 * the node leaves the cluster (peers see it LEFT, not dead), then the listeners stop
 * before the engine they call.
 *
 * <p>Every lifecycle change (READY, DRAINING, DRAINED) is gossiped as metadata: a
 * draining node stays a member, and peers read its state there.
 *
 * <p>The node also owns the state machine ({@link Lifecycle}). A drain moves READY to
 * DRAINING; the API refuses new work from then on, and a watcher moves to DRAINED when
 * nothing is in flight. Undrain returns to READY. The Auto Scaling termination hook and
 * spot notices drain the node through the same path ({@link DrainTarget}).
 */
public final class Node implements NodeControl, ModelCatalog, DrainTarget, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Node.class);

    /** Seed of the demo model's random weights: the same demo everywhere. */
    private static final long DEMO_SEED = 42L;

    /** The version gossiped for a model loaded from a plain file rather than the model store. */
    private static final String UNVERSIONED = "file";

    /** How long a leaving node keeps its sockets open so its goodbye can be answered. */
    private static final Duration LEAVE_GRACE = Duration.ofMillis(300);

    /** How often the drain watcher looks at the in-flight count. */
    private static final Duration DRAIN_POLL = Duration.ofMillis(20);

    private final GpudConfig config;
    private final Cloud cloud;
    private final String nodeId;
    private final AtomicLong inferenceRequests = new AtomicLong();
    private volatile List<LeaderLease> leases = List.of();
    private final Lifecycle lifecycle = new Lifecycle();
    private final MetricRegistry metrics = MetricRegistry.forNode(Version.current());
    private final long startedNanos = System.nanoTime();
    private final List<AutoCloseable> started = new ArrayList<>();
    private volatile List<Engine> engines = List.of();
    private ModelReloader reloader;
    private ApiServer api;
    private MembershipAgent membership;
    private final Vivaldi vivaldi = new Vivaldi(new Random());
    private Router router;

    private Node(GpudConfig config, Cloud cloud, String nodeId) {
        this.config = config;
        this.cloud = cloud;
        this.nodeId = nodeId;
    }

    /** Starts a node that reaches AWS as its configuration says; on failure, whatever had started is stopped again. */
    public static Node start(GpudConfig config) {
        return start(config, Cloud.fromConfig());
    }

    /** Starts a node that reaches the state store and Auto Scaling through {@code cloud}. */
    public static Node start(GpudConfig config, Cloud cloud) {
        Path dataDir = config.node().dataDir();
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new GpudException("cannot create data directory " + dataDir + ": " + e, e);
        }
        var node = new Node(config, cloud, nodeId(config));
        try {
            node.startSubsystems();
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
        return node;
    }

    private void startSubsystems() {
        log.info("gpud node {} starting in region {} (data dir {})", nodeId, config.node().region(),
                config.node().dataDir());
        Engine engine = loadModel(config.model());
        if (engine != null) {
            engine = new CountingEngine(engine, inferenceRequests);
            engines = List.of(engine);
            started.add(engine);
            if (reloader != null) {
                started.add(reloader);
            }
            ModelInfo info = engine.info();
            log.info("serving model {} ({} {}, {} parameters, context {})", info.name(), info.format(),
                    info.weightType(), info.parameters(), info.contextLength());
        } else {
            log.warn("no model configured: the node will not be ready. Give --model PATH, or --demo");
        }
        metrics.gauge("gpud_node_state", "Node state: 0 starting, 1 ready, 2 draining, 3 drained, 4 quarantined",
                () -> lifecycle.state().ordinal());

        var admin = new AdminServer(config.node().adminSocket(), this);
        try {
            admin.start();
        } catch (IOException e) {
            throw new GpudException("cannot open the admin socket " + config.node().adminSocket() + ": " + e, e);
        }
        started.add(admin);

        SecureStack secure = startSecure();
        PeerForwarder forwarder = null;
        if (config.routing().enabled()) {
            var routingMetrics = new RoutingMetrics(metrics);
            router = new Router(config.routing(), new MembershipCandidates(nodeId, config.node().region(),
                    () -> membership == null ? List.of() : membership.members(),
                    () -> membership == null ? java.util.Map.of() : membership.regionSummaries(), new RoutingSelf(),
                    MonotonicClock.system()), vivaldi, MonotonicClock.system(), new Random(), routingMetrics);
            forwarder = new PeerForwarder(nodeId, router, routingMetrics);
        }
        api = new ApiServer(config.api(), this, this, metrics, config.engine().defaultMaxTokens(),
                secure != null ? secure.gateway() : null, router, forwarder, config.routing().proxyProtocol());
        api.start();
        started.add(api);

        if (config.gossip().enabled()) {
            membership = MembershipAgent.start(nodeId, config.gossip(), metadata(NodeState.READY), this::load,
                    metrics);
            membership.exchangeCoordinates(vivaldi);
            started.add(() -> {
                membership.leave(LEAVE_GRACE);
                membership.close();
            });
        }

        lifecycle.ready();
        log.info("node {} {}: data plane on {}:{}, metrics on :{}, admin socket {}", nodeId, lifecycle.state(),
                config.api().host(), api.port(), api.metricsPort(), config.node().adminSocket());
        startClusterState();
    }

    /** The state store and registry item, the leases and autoscaler, the lifecycle watcher. */
    private void startClusterState() {
        StateStore store = cloud.stateStore(config);
        started.add(store);
        String region = config.node().region();
        var reporter = new RegistryReporter(store, config, nodeId,
                () -> config.api().host() + ":" + api.port(), lifecycle::state, inferenceRequests::get,
                this::inFlight, this::queueDepth, () -> leases.stream().anyMatch(l -> l.epoch().isPresent()),
                InstantSource.system());
        started.add(reporter);
        Thread.ofVirtual().name("registry-reporter").start(reporter);

        AwsAutoScaling autoScaling = null;
        if (config.scaling().enabled() || config.lifecycle().watch()) {
            autoScaling = cloud.autoScaling(config);
            started.add(autoScaling);
        }
        if (config.scaling().enabled()) {
            var held = new ArrayList<LeaderLease>();
            var pools = new ArrayList<Autoscaler.LeadPool>();
            for (var pool : config.scaling().poolList()) {
                var lease = new LeaderLease(store, region, pool.name(), nodeId, config.state().leaseDuration(),
                        config.state().leaseRenewEvery(), MonotonicClock.system(), InstantSource.system());
                held.add(lease);
                pools.add(new Autoscaler.LeadPool(pool, lease));
                started.add(lease);
                Thread.ofVirtual().name("lease-" + pool.name()).start(lease);
            }
            leases = List.copyOf(held);
            var autoscaler = new Autoscaler(region, config.scaling(), pools, store, autoScaling,
                    InstantSource.system());
            started.add(autoscaler);
            Thread.ofVirtual().name("autoscaler").start(autoscaler);
            log.info("autoscaler{}: contending for pools {} in {}", config.scaling().dryRun() ? " (dry run)" : "",
                    config.scaling().pools().keySet(), region);
        }
        if (config.lifecycle().watch()) {
            var imds = new InstanceMetadataClient(config.lifecycle().imdsEndpoint(), MonotonicClock.system());
            var watcher = new TerminationWatcher(imds, autoScaling, this, config.lifecycle());
            started.add(watcher);
            Thread.ofVirtual().name("lifecycle-watcher").start(watcher);
            log.info("watching IMDS {} for the lifecycle hook {} of {}", config.lifecycle().imdsEndpoint(),
                    config.lifecycle().hookName(), config.lifecycle().autoScalingGroup());
        }
    }

    /** The secure envelope's stack, or null when {@code secure.mode} is off. */
    private SecureStack startSecure() {
        String mode = config.secure().mode();
        if (mode.equals("off")) {
            return null;
        }
        SecureStack stack = SecureStack.start(config.secure(), config.node().dataDir(), Clock.systemUTC());
        started.add(stack);
        if (mode.equals("local")) {
            String bar = "!".repeat(78);
            log.warn(bar);
            log.warn("!! SECURE ENVELOPE IN LOCAL MODE - INSECURE, FOR DEVELOPMENT ONLY");
            log.warn("!! test PKI generated at start, enclave program as a child process, KMS keys in this process");
            log.warn("!! local KMS endpoint: {}  (gpud tenant seal --kms-endpoint {})", stack.kmsEndpoint(),
                    stack.kmsEndpoint());
            log.warn(bar);
        } else {
            log.info("secure envelope: enclave on vsock {}:{}, KMS in {}", config.secure().enclaveCid(),
                    config.secure().enclavePort(), config.secure().kmsRegion());
        }
        return stack;
    }

    private Engine loadModel(ModelConfig model) {
        if (model.path() == null && model.name() != null && config.store().root() != null) {
            reloader = new ModelReloader(config.store(), config.engine(), model.name(), metrics);
            return reloader.loadInitial();
        }
        if (model.path() != null) {
            return Backends.load(model.path(), model.tokenizer(), model.name(), config.engine());
        }
        if (!model.demo()) {
            return null;
        }
        Path demo = config.node().dataDir().resolve("models").resolve(ModelConfig.DEMO_NAME + ".gguf");
        if (!Files.exists(demo)) {
            try {
                Files.createDirectories(demo.getParent());
                Path partial = demo.resolveSibling(demo.getFileName() + ".partial");
                DemoModel.write(partial, DEMO_SEED);
                Files.move(partial, demo, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new GpudException("cannot write the demo model to " + demo + ": " + e, e);
            }
            log.info("wrote a random-weight demo model to {}", demo);
        }
        return Backends.load(demo, null, model.name() != null ? model.name() : ModelConfig.DEMO_NAME, config.engine());
    }

    /** What this node gossips about itself, with {@code state} as its node state. */
    private NodeMetadata metadata(NodeState state) {
        var g = config.gossip();
        int capacity = g.capacity() > 0 ? g.capacity() : config.engine().maxConcurrent();
        List<NodeMetadata.Model> models = engines.stream()
                .map(e -> new NodeMetadata.Model(e.info().name(), version(e.info().name())))
                .toList();
        return new NodeMetadata(config.node().region(), dataAddress(), api.port(), g.availabilityZone(), g.subnet(),
                g.vpc(), state.name(), models, capacity, Version.current());
    }

    private String dataAddress() {
        String host = config.api().host();
        if (host.equals("0.0.0.0") && config.gossip().advertiseAddress() != null) {
            return config.gossip().advertiseAddress();
        }
        return host;
    }

    private LoadRecord load() {
        return new LoadRecord(nodeId, 0, System.currentTimeMillis(), queueDepth(), inFlight(), 0f);
    }

    /** This node as the router sees it: live state and load, not its own gossip. */
    private final class RoutingSelf implements MembershipCandidates.Self {
        @Override
        public NodeState state() {
            return lifecycle.state();
        }

        @Override
        public int queueDepth() {
            return Node.this.queueDepth();
        }

        @Override
        public int inFlight() {
            return Node.this.inFlight();
        }

        @Override
        public int capacity() {
            return config.gossip().capacity() > 0 ? config.gossip().capacity() : config.engine().maxConcurrent();
        }

        @Override
        public Set<String> models() {
            return engines.stream().map(e -> e.info().name()).collect(Collectors.toUnmodifiableSet());
        }

        @Override
        public String host() {
            return dataAddress();
        }

        @Override
        public int port() {
            return api == null ? config.api().port() : api.port();
        }
    }

    @Override
    public RouteExplanation explainRoute(String model, String sourceIp) {
        if (router == null) {
            return null;
        }
        RequestSource source;
        try {
            source = sourceIp == null ? RequestSource.unknown() : RequestSource.of(InetAddress.getByName(sourceIp));
        } catch (UnknownHostException e) {
            source = RequestSource.unknown();
        }
        return router.decide(model, source, true).explanation();
    }

    /** Gossips the current lifecycle state, so peers see a draining node as draining. */
    private void gossipState() {
        if (membership != null) {
            membership.updateMetadata(metadata(lifecycle.state()));
        }
    }

    /** The gossip agent, or null when gossip is disabled. */
    public MembershipAgent membership() {
        return membership;
    }

    /** The id kept in the data dir, or the configured one; generated once on first start. */
    private static String nodeId(GpudConfig config) {
        if (config.node().nodeId() != null) {
            return config.node().nodeId();
        }
        Path file = config.node().dataDir().resolve("node-id");
        try {
            if (Files.exists(file)) {
                String id = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (id.matches("[A-Za-z0-9._-]{1,64}")) {
                    return id;
                }
                log.warn("ignoring malformed node id in {}; generating a new one", file);
            }
            String id = Ids.random("gpud-", 10);
            Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
            return id;
        } catch (IOException e) {
            throw new GpudException("cannot read or write the node id at " + file + ": " + e, e);
        }
    }

    /** The bound data-plane port (the configured one, or the one picked for port 0). */
    public int port() {
        return api.port();
    }

    /** The bound metrics port. */
    public int metricsPort() {
        return api.metricsPort();
    }

    public MetricRegistry metrics() {
        return metrics;
    }

    @Override
    public String nodeId() {
        return nodeId;
    }

    @Override
    public NodeState state() {
        return lifecycle.state();
    }

    @Override
    public List<Engine> engines() {
        return engines;
    }

    @Override
    public NodeStatus status() {
        List<NodeStatus.Model> models = engines.stream().map(Engine::info)
                .map(i -> new NodeStatus.Model(i.name(), i.format(), i.architecture(), i.parameters(),
                        i.contextLength(), i.weightType(), version(i.name())))
                .toList();
        return new NodeStatus(nodeId, config.node().region(), lifecycle.state().name(), inFlight(), queueDepth(),
                models, members(), Version.current(),
                Duration.ofNanos(System.nanoTime() - startedNanos).toSeconds(),
                reloader == null ? null : reloader.status(), regions());
    }

    private List<NodeStatus.Region> regions() {
        if (membership == null) {
            return List.of();
        }
        var now = java.time.Instant.now();
        return membership.regionSummaries().values().stream()
                .sorted(java.util.Comparator.comparing(io.gpud.membership.RegionSummary::region))
                .map(r -> new NodeStatus.Region(r.region(), r.healthyHosts(), r.capacity(), r.bridge(),
                        Math.max(0, Duration.between(r.receivedAt(), now).toMillis()),
                        r.models().stream().map(m -> new NodeStatus.RegionModel(m.model(), m.hosts().stream()
                                .map(h -> new NodeStatus.RegionHost(h.nodeId(), h.dataAddress(), h.queueDepth(),
                                        h.inFlight(), h.capacity())).toList())).toList()))
                .toList();
    }

    private List<NodeStatus.Member> members() {
        if (membership == null) {
            String address = config.api().host() + ":" + (api == null ? config.api().port() : api.port());
            return List.of(new NodeStatus.Member(nodeId, config.node().region(), "alive", address, 0, null, null));
        }
        var out = new ArrayList<NodeStatus.Member>();
        for (MemberView m : membership.members()) {
            out.add(new NodeStatus.Member(m.node(), m.metadata().region(), m.state().label(),
                    m.address().getAddress().getHostAddress() + ":" + m.address().getPort(), m.incarnation(),
                    m.rtt() == null ? null : m.rtt().toNanos() / 1e6, m.metadata().nodeState()));
        }
        return out;
    }

    @Override
    public String version(String name) {
        return reloader != null && engines.stream().anyMatch(e -> e.info().name().equals(name))
                ? reloader.servingVersion() : UNVERSIONED;
    }

    @Override
    public ModelReload loadModel(String name, String version) {
        if (reloader == null) {
            return new ModelReload.Refused("this node serves no model from the store (set store.root and model.name)");
        }
        return reloader.request(name, version);
    }

    @Override
    public List<String> keys() {
        return membership == null ? List.of() : membership.keys();
    }

    @Override
    public MembershipAgent.KeyringChange changeKeyring(KeyringOperation operation, String key) {
        if (membership == null) {
            return new MembershipAgent.KeyringChange.Refused("gossip is disabled on this node");
        }
        return switch (operation) {
            case INSTALL -> membership.installKey(key);
            case USE -> membership.useKey(key);
            case REMOVE -> membership.removeKey(key);
        };
    }

    @Override
    public MembershipAgent.KeyringChange changeClusterKeyring(KeyringOperation operation, String key) {
        if (membership == null) {
            return new MembershipAgent.KeyringChange.Refused("gossip is disabled on this node");
        }
        return membership.changeClusterKeyring(MembershipAgent.ClusterKeyOperation.valueOf(operation.name()), key);
    }

    @Override
    public NodeState drain() {
        NodeState before = lifecycle.state();
        NodeState now = lifecycle.drain();
        if (before != NodeState.DRAINING && now == NodeState.DRAINING) {
            log.info("draining: refusing new requests, {} in flight", inFlight());
            gossipState();
            Thread.ofVirtual().name("drain-watcher").start(this::watchDrain);
        }
        return now;
    }

    @Override
    public NodeState undrain() {
        NodeState now = lifecycle.undrain();
        log.info("undrain: node is {}", now);
        gossipState();
        return now;
    }

    @Override
    public void beginDrain(String why) {
        log.info("drain requested: {}", why);
        drain();
    }

    /** Waits until the node is DRAINED; false if the timeout passed first. */
    @Override
    public boolean awaitDrained(Duration timeout) throws InterruptedException {
        return lifecycle.await(NodeState.DRAINED, timeout.toNanos());
    }

    /**
     * Moves DRAINING to DRAINED once nothing has been in flight for two polls in a row:
     * no sequence in the engines and no HTTP request still being answered.
     */
    private void watchDrain() {
        int idlePolls = 0;
        try {
            while (lifecycle.state() == NodeState.DRAINING) {
                boolean idle = inFlight() == 0 && (api == null || api.activeRequests() == 0);
                idlePolls = idle ? idlePolls + 1 : 0;
                if (idlePolls >= 2) {
                    lifecycle.drained();
                    log.info("drained: nothing in flight");
                    gossipState();
                    return;
                }
                Thread.sleep(DRAIN_POLL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the listeners, then the admin socket, then the engines. */
    @Override
    public void close() {
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                log.warn("error while stopping {}: {}", started.get(i), e.toString());
            }
        }
        started.clear();
        engines = List.of();
        leases = List.of();
    }
}
