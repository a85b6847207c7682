package io.gpud.node;

import io.gpud.api.AdminServer;
import io.gpud.api.ApiServer;
import io.gpud.api.NodeView;
import io.gpud.config.GpudConfig;
import io.gpud.config.PeerTlsConfig;
import io.gpud.config.SecureConfig;
import io.gpud.core.GpudException;
import io.gpud.core.Ids;
import io.gpud.core.NodeState;
import io.gpud.core.Time;
import io.gpud.enclave.SecureStack;
import io.gpud.enclave.crypto.PeerTls;
import io.gpud.membership.Membership;
import io.gpud.membership.MembershipAgent;
import io.gpud.membership.PrefixCaches;
import io.gpud.metrics.MetricRegistry;
import io.gpud.routing.MembershipCandidates;
import io.gpud.routing.PeerForwarder;
import io.gpud.routing.Router;
import io.gpud.routing.RoutingMetrics;
import io.gpud.routing.Vivaldi;
import io.gpud.scaling.Autoscaler;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.scaling.InstanceMetadataClient;
import io.gpud.scaling.TerminationWatcher;
import io.gpud.state.LeaderLease;
import io.gpud.state.StateStore;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds every subsystem, top to bottom, and stops them in reverse.
 * Nothing else wires subsystems together; every field is final and none is null (a
 * disabled subsystem is an empty {@link Optional} or a no-op such as
 * {@link Membership#disabled()}).
 *
 * <p>Start order: data directory and node id, peer TLS ({@code routing.peerTls}, or the
 * insecure flag's refusal to run without it), the lifecycle and metrics, the models, the
 * secure envelope's stack ({@code secure.mode}), gossip membership (joined as STARTING),
 * the router, the HTTP listeners, the node's services and the admin socket; then READY,
 * gossiped with the bound data port; then the state store and this node's registry item,
 * the pool leases and the autoscaler ({@code scaling.enabled}), and the lifecycle-hook
 * watcher ({@code lifecycle.watch}). {@link #close()} undoes it backwards: leases are
 * released, the node leaves the cluster (peers see it LEFT, not dead) while its listeners
 * still answer, then the listeners stop before the engines they call.
 *
 * <p>Every change of the node's state (READY, DRAINING, DRAINED, QUARANTINED) is gossiped
 * as metadata. An engine that finds device memory not clean, or whose device failed,
 * quarantines the node: the API refuses work and peers stop routing to it.
 */
public final class Node implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Node.class);

    /** How long a leaving node keeps its sockets open so its goodbye can be answered. */
    private static final Duration LEAVE_GRACE = Duration.ofMillis(300);

    private final Lifecycle lifecycle;
    private final ServedModels models;
    private final Membership membership;
    private final ApiServer api;
    private final NodeServices services;
    private final Optional<URI> secureKmsEndpoint;
    private final Deque<AutoCloseable> started;
    private final CompletableFuture<String> failed;

    private Node(Lifecycle lifecycle, ServedModels models, Membership membership, ApiServer api,
                 NodeServices services, Optional<URI> secureKmsEndpoint, Deque<AutoCloseable> started,
                 CompletableFuture<String> failed) {
        this.lifecycle = lifecycle;
        this.models = models;
        this.membership = membership;
        this.api = api;
        this.services = services;
        this.secureKmsEndpoint = secureKmsEndpoint;
        this.started = started;
        this.failed = failed;
    }

    /** Starts a node that reaches AWS as its configuration says. */
    public static Node start(GpudConfig config) {
        return start(config, Cloud.fromConfig(), ModelLoader.BACKENDS);
    }

    /** Starts a node that reaches the state store and Auto Scaling through {@code cloud}. */
    public static Node start(GpudConfig config, Cloud cloud) {
        return start(config, cloud, ModelLoader.BACKENDS);
    }

    /** Starts a node whose engines {@code loader} starts, on the system's clock and a random seed. */
    public static Node start(GpudConfig config, Cloud cloud, ModelLoader loader) {
        return start(config, cloud, loader, Time.system(), new Random());
    }

    /**
     * Starts a node that reaches the state store and Auto Scaling through {@code cloud},
     * starts its engines with {@code loader}, and reads time and draws random numbers only
     * from {@code time} and {@code random}; on failure, whatever had started is stopped again.
     */
    public static Node start(GpudConfig config, Cloud cloud, ModelLoader loader, Time time, RandomGenerator random) {
        var started = new ArrayDeque<AutoCloseable>();
        try {
            return build(config, cloud, loader, time, random, started);
        } catch (RuntimeException e) {
            stop(started);
            throw e;
        }
    }

    private static Node build(GpudConfig config, Cloud cloud, ModelLoader loader, Time time, RandomGenerator random,
                              Deque<AutoCloseable> started) {
        long startedNanos = time.nanos();
        config.gossip().requireAuthentication();
        String nodeId = nodeId(config);
        String region = config.node().region();
        log.info("gpud node {} starting in region {} (data dir {})", nodeId, region, config.node().dataDir());
        Optional<PeerTls> peerTls = peerTls(config);
        var lifecycle = new Lifecycle(time);
        var metrics = MetricRegistry.forNode(Version.current());
        metrics.gauge("gpud_node_state", "Node state: 0 starting, 1 ready, 2 draining, 3 drained, 4 quarantined",
                () -> lifecycle.state().ordinal());

        ServedModels models = ServedModels.load(config, metrics, loader, time, reason -> {
            log.error("node {} is QUARANTINED and takes no more requests: {}", nodeId, reason);
            lifecycle.quarantine();
        });
        started.push(models);

        Optional<SecureStack> secure = startSecure(config, time, metrics);
        secure.ifPresent(started::push);

        var address = new DataPlaneAddress(advertisedHost(config), config.api().port(),
                peerTls.isPresent() ? config.routing().peerTls().port() : 0);
        var vivaldi = new Vivaldi(random);
        // Cache news cost every region peer bytes (about 86 kbit/s per node at a busy chat
        // host's rate): sent only where the router weighs them.
        var caches = new PrefixCaches(nodeId, config.routing().enabled() && config.routing().weightCache() > 0
                ? new CacheAnnouncements(models::engines, random.nextLong()) : PrefixCaches.Source.NONE);
        Membership membership = config.gossip().enabled()
                ? MembershipAgent.start(nodeId, config.gossip(),
                        NodeServices.metadata(config, NodeState.STARTING, models, address),
                        () -> NodeServices.load(nodeId, models, time), caches, metrics)
                : Membership.disabled();
        started.push(membership);
        membership.exchangeCoordinates(vivaldi);

        Optional<ApiServer.Routing> routing = Optional.empty();
        if (config.routing().enabled()) {
            var routingMetrics = new RoutingMetrics(metrics);
            var self = new RoutingSelf(lifecycle, models, NodeServices.capacity(config), address);
            var router = new Router(config.routing(), new MembershipCandidates(nodeId, region, membership::members,
                    membership::regionSummaries, self, time, peerTls.isPresent()), vivaldi, caches, time, random,
                    routingMetrics);
            var forwarder = new PeerForwarder(nodeId, router,
                    peerTls.map(t -> new PeerForwarder.Tls(t.context(), t.clientParameters())), routingMetrics);
            started.push(forwarder);
            routing = Optional.of(new ApiServer.Routing(router, forwarder, peerTls.map(t -> new ApiServer.PeerListener(
                    config.routing().peerTls().port(), t.context(), t.serverParameters()))));
        }
        var api = new ApiServer(new ApiServer.Dependencies(config.api(), new Identity(nodeId, lifecycle), models,
                metrics, config.engine().defaultMaxTokens(), secure.map(SecureStack::gateway), routing,
                config.routing().proxyProtocol(), time));
        var services = new NodeServices(config, nodeId, lifecycle, models, membership,
                routing.map(ApiServer.Routing::router), api, address, time, startedNanos);
        lifecycle.onChange(services::announce);

        var admin = new AdminServer(config.node().adminSocket(), services);
        try {
            admin.start();
        } catch (IOException e) {
            throw new GpudException("cannot open the admin socket " + config.node().adminSocket() + ": " + e, e);
        }
        started.push(admin);

        api.start();
        started.push(api);
        // Whoever waits on the node's failure sees it once the node is out of READY.
        CompletableFuture<String> failed = api.listenerLost().thenApply(reason -> {
            log.error("node {} has no data plane and leaves READY (QUARANTINED, gossiped to peers): {}", nodeId,
                    reason);
            lifecycle.quarantine();
            return reason;
        });
        address.bound(api.port(), api.peerPort());
        started.push(() -> membership.leave(LEAVE_GRACE));

        lifecycle.ready();
        if (models.engines().isEmpty()) {
            log.warn("node {} is up but serves no model, so /health/ready answers 503 (give --model PATH, or --demo):"
                    + " data plane on {}:{}, metrics on :{}, admin socket {}", nodeId, config.api().host(), api.port(),
                    api.metricsPort(), config.node().adminSocket());
        } else {
            log.info("node {} {}: data plane on {}:{}, metrics on :{}, admin socket {}", nodeId, lifecycle.state(),
                    config.api().host(), api.port(), api.metricsPort(), config.node().adminSocket());
        }
        startClusterState(config, cloud, time, nodeId, lifecycle, models, services, address, started);
        return new Node(lifecycle, models, membership, api, services, secure.map(SecureStack::kmsEndpoint), started,
                failed);
    }

    /** The state store and registry item, the leases and autoscaler, the lifecycle watcher. */
    private static void startClusterState(GpudConfig config, Cloud cloud, Time time, String nodeId, Lifecycle lifecycle,
                                          ServedModels models, NodeServices services, DataPlaneAddress address,
                                          Deque<AutoCloseable> started) {
        StateStore store = cloud.stateStore(config);
        started.push(store);
        String region = config.node().region();
        Optional<AwsAutoScaling> autoScaling = config.scaling().enabled() || config.lifecycle().watch()
                ? Optional.of(cloud.autoScaling(config)) : Optional.empty();
        autoScaling.ifPresent(started::push);

        var leases = new ArrayList<LeaderLease>();
        if (config.scaling().enabled()) {
            var pools = new ArrayList<Autoscaler.LeadPool>();
            for (var pool : config.scaling().poolList()) {
                var lease = new LeaderLease(store, region, pool.name(), nodeId, config.state().leaseDuration(),
                        config.state().leaseRenewEvery(), time, time);
                leases.add(lease);
                pools.add(new Autoscaler.LeadPool(pool, lease));
                started.push(lease);
                Thread.ofVirtual().name("lease-" + pool.name()).start(lease);
            }
            var autoscaler = new Autoscaler(region, config.scaling(), pools, store, autoScaling.orElseThrow(), time);
            started.push(autoscaler);
            Thread.ofVirtual().name("autoscaler").start(autoscaler);
            log.info("autoscaler{}: contending for pools {} in {}", config.scaling().dryRun() ? " (dry run)" : "",
                    config.scaling().pools().keySet(), region);
        }
        List<LeaderLease> held = List.copyOf(leases);
        var reporter = new RegistryReporter(store, config, nodeId, () -> config.api().host() + ":" + address.port(),
                lifecycle::state, models::submitted, models::inFlight, models::queueDepth,
                () -> held.stream().anyMatch(l -> l.epoch().isPresent()), time);
        started.push(reporter);
        Thread.ofVirtual().name("registry-reporter").start(reporter);

        if (config.lifecycle().watch()) {
            var imds = new InstanceMetadataClient(config.lifecycle().imdsEndpoint());
            var watcher = new TerminationWatcher(imds, autoScaling.orElseThrow(), services, config.lifecycle());
            started.push(watcher);
            Thread.ofVirtual().name("lifecycle-watcher").start(watcher);
            log.info("watching IMDS {} for the lifecycle hook {} of {}", config.lifecycle().imdsEndpoint(),
                    config.lifecycle().hookName(), config.lifecycle().autoScalingGroup());
        }
    }

    /** The secure envelope's stack; empty when {@code secure.mode} is off. */
    private static Optional<SecureStack> startSecure(GpudConfig config, Time time, MetricRegistry metrics) {
        SecureConfig.Mode mode = config.secure().mode();
        if (mode == SecureConfig.Mode.OFF) {
            return Optional.empty();
        }
        SecureStack stack = SecureStack.start(config.secure(), config.node().dataDir(), time.withZone(ZoneOffset.UTC),
                metrics);
        if (mode == SecureConfig.Mode.LOCAL) {
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
        return Optional.of(stack);
    }

    /**
     * Peer TLS when {@code routing.peerTls} names its files; empty when the node does not
     * route, or runs alone (no gossip), or the cluster runs without it by choice
     * ({@code gossip.insecure}: forwards are plain HTTP, and the data port trusts
     * {@code x-gpud-forwarded-by} from anyone).
     *
     * @throws GpudException when the node routes over gossip with neither peer TLS nor the
     *                       insecure flag, or the files cannot be used
     */
    private static Optional<PeerTls> peerTls(GpudConfig config) {
        PeerTlsConfig tls = config.routing().peerTls();
        if (!config.routing().enabled() || !config.gossip().enabled()) {
            return Optional.empty();
        }
        if (!tls.configured()) {
            if (!config.gossip().insecure()) {
                throw new GpudException("routing forwards requests to gossip peers, but routing.peerTls is not set: "
                        + "set routing.peerTls.caFile, certFile and keyFile (the cluster CA, this node's certificate "
                        + "and key), or run an unauthenticated cluster on purpose with gpud run --insecure-cluster "
                        + "(gossip.insecure: true), or turn routing off (routing.enabled: false)");
            }
            log.warn("forwards between peers are NOT authenticated or encrypted (gossip.insecure without "
                    + "routing.peerTls): any host that joins gossip receives forwarded prompts, and x-gpud-forwarded-by "
                    + "on the data port skips routing");
            return Optional.empty();
        }
        PeerTls loaded = PeerTls.load(tls.caFile(), tls.certFile(), tls.keyFile(), log::warn);
        log.info("peer TLS: mutual TLS 1.3 (FIPS) on port {} with the cluster CA {}", tls.port(), tls.caFile());
        return Optional.of(loaded);
    }

    /** The host peers reach the data plane at: the listener's, or the gossip's advertised one for 0.0.0.0. */
    private static String advertisedHost(GpudConfig config) {
        String host = config.api().host();
        if (host.equals("0.0.0.0") && config.gossip().advertiseAddress() != null) {
            return config.gossip().advertiseAddress();
        }
        return host;
    }

    /** The id kept in the data dir, or the configured one; generated once on first start. */
    private static String nodeId(GpudConfig config) {
        Path dataDir = config.node().dataDir();
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new GpudException("cannot create data directory " + dataDir + ": " + e, e);
        }
        if (config.node().nodeId() != null) {
            return config.node().nodeId();
        }
        Path file = dataDir.resolve("node-id");
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

    /** Who answers every request, and in what state: what the data plane reads of the node. */
    private record Identity(String nodeId, Lifecycle lifecycle) implements NodeView {
        @Override
        public NodeState state() {
            return lifecycle.state();
        }
    }

    /** The current state. */
    public NodeState state() {
        return lifecycle.state();
    }

    /** Sequences in flight in the engines. */
    public int inFlight() {
        return models.inFlight();
    }

    /** The bound data-plane port (the configured one, or the one picked for port 0). */
    public int port() {
        return api.port();
    }

    /** The bound peer listener port; 0 without peer TLS. */
    public int peerPort() {
        return api.peerPort();
    }

    /** The bound gossip port; -1 when gossip is disabled. */
    public int gossipPort() {
        return membership.port();
    }

    /** The bound metrics port. */
    public int metricsPort() {
        return api.metricsPort();
    }

    /**
     * The KMS endpoint tenants seal secure requests against: local mode's own, or the
     * configured override; empty when {@code secure.mode} is off or KMS is the region's.
     */
    public Optional<URI> secureKmsEndpoint() {
        return secureKmsEndpoint;
    }

    /**
     * Completes, with the reason, when the data listener died under the node (the node is
     * QUARANTINED by then): the process should exit non-zero so its supervisor starts a
     * fresh one.
     */
    public CompletableFuture<String> failed() {
        return failed;
    }

    /** READY → DRAINING: new requests are refused, DRAINED once nothing is in flight. */
    public NodeState drain() {
        return services.drain();
    }

    /** Waits until the node is DRAINED; false if {@code timeout} passed first. */
    public boolean awaitDrained(Duration timeout) throws InterruptedException {
        return services.awaitDrained(timeout);
    }

    /** Stops everything that started, last first. */
    @Override
    public void close() {
        stop(started);
    }

    private static void stop(Deque<AutoCloseable> started) {
        while (!started.isEmpty()) {
            AutoCloseable next = started.pop();
            try {
                next.close();
            } catch (Exception e) {
                log.warn("error while stopping {}: {}", next, e.toString());
            }
        }
    }
}
