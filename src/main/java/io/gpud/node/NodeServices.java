package io.gpud.node;

import io.gpud.api.ApiServer;
import io.gpud.api.KeyringOperation;
import io.gpud.api.ModelReload;
import io.gpud.api.NodeControl;
import io.gpud.api.NodeStatus;
import io.gpud.config.GpudConfig;
import io.gpud.core.NodeState;
import io.gpud.core.Time;
import io.gpud.inference.Engine;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.MemberView;
import io.gpud.membership.Membership;
import io.gpud.membership.MembershipAgent;
import io.gpud.membership.NodeMetadata;
import io.gpud.membership.RegionSummary;
import io.gpud.routing.RequestSource;
import io.gpud.routing.RouteExplanation;
import io.gpud.routing.Router;
import io.gpud.scaling.DrainTarget;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the node offers its operators and its cluster once it is wired: status, drain and
 * undrain, keyring changes, route explanations, model reloads (the admin API's
 * {@link NodeControl}), the drain the lifecycle hook asks for ({@link DrainTarget}), and
 * what it gossips about itself.
 *
 * <p>A drain moves READY to DRAINING; the API refuses new work from then on, and a watcher
 * moves to DRAINED once nothing is in flight. Undrain returns to READY. Every change of
 * state is gossiped as metadata ({@link #announce}), so peers see a draining or quarantined
 * node as such.
 */
final class NodeServices implements NodeControl, DrainTarget {
    private static final Logger log = LoggerFactory.getLogger(NodeServices.class);

    /** How often the drain watcher looks at what is in flight. */
    private static final Duration DRAIN_POLL = Duration.ofMillis(20);

    private final GpudConfig config;
    private final String nodeId;
    private final Lifecycle lifecycle;
    private final ServedModels models;
    private final Membership membership;
    private final Optional<Router> router;
    private final ApiServer api;
    private final DataPlaneAddress address;
    private final Time time;
    private final long startedNanos;

    NodeServices(GpudConfig config, String nodeId, Lifecycle lifecycle, ServedModels models, Membership membership,
                 Optional<Router> router, ApiServer api, DataPlaneAddress address, Time time, long startedNanos) {
        this.config = config;
        this.nodeId = nodeId;
        this.lifecycle = lifecycle;
        this.models = models;
        this.membership = membership;
        this.router = router;
        this.api = api;
        this.address = address;
        this.time = time;
        this.startedNanos = startedNanos;
    }

    /** What this node gossips about itself in {@code state}. */
    static NodeMetadata metadata(GpudConfig config, NodeState state, ServedModels models, DataPlaneAddress address) {
        var g = config.gossip();
        List<NodeMetadata.Model> served = models.engines().stream()
                .map(e -> new NodeMetadata.Model(e.info().name(), models.version(e.info().name())))
                .toList();
        return new NodeMetadata(config.node().region(), address.host(), address.port(), g.availabilityZone(),
                g.subnet(), g.vpc(), state.name(), served, capacity(config), Version.current(), address.peerPort());
    }

    /** Sequences this node takes at once, as gossiped and as the router counts it. */
    static int capacity(GpudConfig config) {
        return config.gossip().capacity() > 0 ? config.gossip().capacity() : config.engine().maxConcurrent();
    }

    /** This node's load record, gossiped every load interval. */
    static LoadRecord load(String nodeId, ServedModels models, Time time) {
        return new LoadRecord(nodeId, 0, time.millis(), models.queueDepth(), models.inFlight(), 0f);
    }

    /**
     * Gossips the current state and address, so peers see a draining or quarantined node as
     * such. A gossip loop that cannot take it (stopped, or stuck for 10 s) is logged: the
     * state has changed here either way.
     */
    void announce() {
        NodeState state = lifecycle.state();
        try {
            membership.updateMetadata(metadata(config, state, models, address));
        } catch (RuntimeException e) {
            log.warn("could not gossip that this node is {}: {}", state, e.getMessage());
        }
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
    public NodeStatus status() {
        List<NodeStatus.Model> served = models.engines().stream().map(Engine::info)
                .map(i -> new NodeStatus.Model(i.name(), i.format(), i.architecture(), i.parameters(),
                        i.contextLength(), i.weightType(), models.version(i.name())))
                .toList();
        return new NodeStatus(nodeId, config.node().region(), lifecycle.state().name(), models.inFlight(),
                models.queueDepth(), served, members(), Version.current(),
                Duration.ofNanos(time.nanos() - startedNanos).toSeconds(), models.reloadStatus(), regions());
    }

    /** The members gossip knows; without gossip, this node alone. */
    private List<NodeStatus.Member> members() {
        List<MemberView> known = membership.members();
        if (known.isEmpty()) {
            return List.of(new NodeStatus.Member(nodeId, config.node().region(), "alive",
                    config.api().host() + ":" + address.port(), 0, null, null));
        }
        return known.stream()
                .map(m -> new NodeStatus.Member(m.node(), m.metadata().region(), m.state().label(),
                        m.address().getAddress().getHostAddress() + ":" + m.address().getPort(), m.incarnation(),
                        m.rtt() == null ? null : m.rtt().toNanos() / 1e6, m.metadata().nodeState()))
                .toList();
    }

    private List<NodeStatus.Region> regions() {
        Instant now = time.instant();
        return membership.regionSummaries().values().stream()
                .sorted(Comparator.comparing(RegionSummary::region))
                .map(r -> new NodeStatus.Region(r.region(), r.healthyHosts(), r.capacity(), r.bridge(),
                        Math.max(0, Duration.between(r.receivedAt(), now).toMillis()),
                        r.models().stream().map(m -> new NodeStatus.RegionModel(m.model(), m.hosts().stream()
                                .map(h -> new NodeStatus.RegionHost(h.nodeId(), h.dataAddress(), h.queueDepth(),
                                        h.inFlight(), h.capacity())).toList())).toList()))
                .toList();
    }

    @Override
    public RouteExplanation explainRoute(String model, String sourceIp) {
        return explainRoute(model, sourceIp, null);
    }

    @Override
    public RouteExplanation explainRoute(String model, String sourceIp, String prompt) {
        if (router.isEmpty()) {
            return null;
        }
        RequestSource source;
        try {
            source = sourceIp == null ? RequestSource.unknown() : RequestSource.of(InetAddress.getByName(sourceIp));
        } catch (UnknownHostException e) {
            source = RequestSource.unknown();
        }
        long[] names = prompt == null || router.get().config().weightCache() == 0 ? new long[0]
                : api.prefixNames(model, prompt);
        return router.get().decide(model, source, names, true).explanation();
    }

    @Override
    public ModelReload loadModel(String name, String version) {
        return models.reload(name, version);
    }

    @Override
    public List<String> keys() {
        return membership.keys();
    }

    @Override
    public MembershipAgent.KeyringChange changeKeyring(KeyringOperation operation, String key) {
        return switch (operation) {
            case INSTALL -> membership.installKey(key);
            case USE -> membership.useKey(key);
            case REMOVE -> membership.removeKey(key);
        };
    }

    @Override
    public MembershipAgent.KeyringChange changeClusterKeyring(KeyringOperation operation, String key) {
        return membership.changeClusterKeyring(MembershipAgent.ClusterKeyOperation.valueOf(operation.name()), key);
    }

    @Override
    public NodeState drain() {
        NodeState before = lifecycle.state();
        NodeState now = lifecycle.drain();
        if (before != NodeState.DRAINING && now == NodeState.DRAINING) {
            log.info("draining: refusing new requests, {} in flight", models.inFlight());
            Thread.ofVirtual().name("drain-watcher").start(this::watchDrain);
        }
        return now;
    }

    @Override
    public NodeState undrain() {
        NodeState now = lifecycle.undrain();
        log.info("undrain: node is {}", now);
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
                boolean idle = models.inFlight() == 0 && api.activeRequests() == 0;
                idlePolls = idle ? idlePolls + 1 : 0;
                if (idlePolls >= 2) {
                    lifecycle.drained();
                    log.info("drained: nothing in flight");
                    return;
                }
                time.sleep(DRAIN_POLL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
