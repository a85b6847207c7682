package io.gpud.api;

import io.gpud.config.ApiConfig;
import io.gpud.config.RoutingConfig;
import io.gpud.core.MonotonicClock;
import io.gpud.core.Time;
import io.gpud.core.NodeState;
import io.gpud.enclave.crypto.PeerTls;
import io.gpud.metrics.MetricRegistry;
import io.gpud.routing.Candidate;
import io.gpud.routing.CandidateSource;
import io.gpud.routing.PeerForwarder;
import io.gpud.routing.Router;
import io.gpud.routing.RoutingMetrics;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Nodes in one JVM, each a real {@link ApiServer} on loopback with its own router and
 * forwarder over a {@link FakeEngine} named "m". Membership is simulated: every
 * {@code loadInterval} each live node publishes its state and load (the load channel), and a
 * killed node stays in every view until {@code detection} has passed (the failure detector).
 * Traffic between regions goes through {@link SimLatencyProxy}s with the one-way latency of
 * the region pair; within a region it is direct. Nodes added with peer TLS forward to each
 * other's TLS listeners; the others forward plain HTTP to data ports (an insecure cluster).
 */
final class SimCluster implements AutoCloseable {

    static final Duration LOAD_INTERVAL = Duration.ofMillis(250);

    /** One node. */
    final class SimNode implements NodeControl {
        final String id;
        final String region;
        final FakeEngine engine = new FakeEngine("m", 4096);
        final ApiServer server;
        final Router router;
        final PeerForwarder forwarder;
        final MetricRegistry registry = new MetricRegistry();
        volatile NodeState state = NodeState.READY;
        volatile boolean killed;
        volatile long killedAtNanos;
        /** False: a front node that routes but serves no model. */
        volatile boolean servesModel = true;

        Set<String> models() {
            return servesModel ? Set.of("m") : Set.of();
        }

        SimNode(String id, String region, RoutingConfig routing, Optional<PeerTls> tls) {
            this.id = id;
            this.region = region;
            var metrics = new RoutingMetrics(registry);
            this.router = new Router(routing, new View(this), null, MonotonicClock.system(), new Random(id.hashCode()),
                    metrics);
            this.forwarder = new PeerForwarder(id, router,
                    tls.map(t -> new PeerForwarder.Tls(t.context(), t.clientParameters())), metrics);
            var peers = tls.map(t -> new ApiServer.PeerListener(0, t.context(), t.serverParameters()));
            var config = new ApiConfig("127.0.0.1", 0, 0, 1 << 20, 64, Duration.ofSeconds(1));
            this.server = new ApiServer(new ApiServer.Dependencies(config, this, () -> List.of(engine), registry, 16,
                    Optional.empty(), Optional.of(new ApiServer.Routing(router, forwarder, peers)), false,
                    Time.system())).start();
        }

        int port() {
            return server.port();
        }

        /** Where peers forward to: the peer listener with peer TLS, else the data port. */
        int forwardPort() {
            return server.peerPort() > 0 ? server.peerPort() : server.port();
        }

        void kill() {
            killed = true;
            killedAtNanos = System.nanoTime();
            server.stop();
        }

        @Override
        public String nodeId() {
            return id;
        }

        @Override
        public NodeState state() {
            return state;
        }

        @Override
        public NodeStatus status() {
            return new NodeStatus(id, region, state.name(), engine.inFlight(), 0, List.of(), List.of(), "test", 0, null, List.of());
        }

        @Override
        public NodeState drain() {
            state = NodeState.DRAINING;
            return state;
        }

        @Override
        public NodeState undrain() {
            state = NodeState.READY;
            return state;
        }
    }

    /** What the simulated load channel last carried from a node. */
    private record Published(SimNode node, String state, int inFlight, long atNanos) {
    }

    /** One node's view of the cluster, as membership would give it. */
    private final class View implements CandidateSource {
        private final SimNode self;

        View(SimNode self) {
            this.self = self;
        }

        @Override
        public String localNode() {
            return self.id;
        }

        @Override
        public String localRegion() {
            return self.region;
        }

        @Override
        public Candidate self() {
            return new Candidate(self.id, self.region, "127.0.0.1", self.port(), true, self.state.name(), self.models(),
                    CAPACITY, 0, self.engine.inFlight(), System.nanoTime(), Duration.ZERO, true);
        }

        @Override
        public List<Candidate> peers() {
            long now = System.nanoTime();
            var out = new ArrayList<Candidate>();
            for (Published p : published.values()) {
                SimNode n = p.node();
                if (n == self || n.killed && now - n.killedAtNanos > detection.toNanos()) {
                    continue;
                }
                Duration oneWay = oneWay(self.region, n.region);
                int port = oneWay.isZero() ? n.forwardPort() : proxy(n, oneWay);
                out.add(new Candidate(n.id, n.region, "127.0.0.1", port, true, p.state(), n.models(), CAPACITY, 0,
                        p.inFlight(), p.atNanos(),
                        oneWay.isZero() ? Duration.ofMillis(1) : oneWay.multipliedBy(2), false));
            }
            return out;
        }
    }

    static final int CAPACITY = 8;

    private final List<SimNode> nodes = new ArrayList<>();
    private final Map<String, Duration> oneWay = new HashMap<>();
    private final Map<String, Published> published = new ConcurrentHashMap<>();
    private final Map<String, SimLatencyProxy> proxies = new ConcurrentHashMap<>();
    private final Duration detection;
    private final Thread loadChannel;
    private volatile boolean running = true;

    /**
     * @param detection how long a killed node stays in the others' views
     */
    SimCluster(Duration detection) {
        this.detection = detection;
        this.loadChannel = Thread.ofPlatform().daemon().name("sim-load-channel").start(this::publishLoop);
    }

    /** Sets the round-trip time between two regions. */
    SimCluster rtt(String a, String b, Duration rtt) {
        oneWay.put(a + "|" + b, rtt.dividedBy(2));
        oneWay.put(b + "|" + a, rtt.dividedBy(2));
        return this;
    }

    SimNode add(String id, String region, RoutingConfig routing) {
        return add(id, region, routing, Optional.empty());
    }

    /** A node whose forwards go over mutual TLS with {@code tls}, to its peers' TLS listeners. */
    SimNode add(String id, String region, RoutingConfig routing, Optional<PeerTls> tls) {
        var n = new SimNode(id, region, routing, tls);
        synchronized (nodes) {
            nodes.add(n);
        }
        publish(n);
        return n;
    }

    List<SimNode> nodes() {
        synchronized (nodes) {
            return List.copyOf(nodes);
        }
    }

    SimNode node(String id) {
        return nodes().stream().filter(n -> n.id.equals(id)).findFirst().orElseThrow();
    }

    private Duration oneWay(String from, String to) {
        return from.equals(to) ? Duration.ZERO : oneWay.getOrDefault(from + "|" + to, Duration.ofMillis(50));
    }

    private int proxy(SimNode target, Duration oneWay) {
        return proxies.computeIfAbsent(target.id + "|" + oneWay.toNanos(), k -> {
            try {
                return new SimLatencyProxy(target.forwardPort(), oneWay);
            } catch (IOException e) {
                throw new IllegalStateException("cannot open a latency proxy: " + e, e);
            }
        }).port();
    }

    private void publish(SimNode n) {
        if (!n.killed) {
            published.put(n.id, new Published(n, n.state.name(), n.engine.inFlight(), System.nanoTime()));
        }
    }

    private void publishLoop() {
        while (running) {
            for (SimNode n : nodes()) {
                publish(n);
            }
            try {
                Thread.sleep(LOAD_INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        running = false;
        loadChannel.interrupt();
        for (SimNode n : nodes()) {
            if (!n.killed) {
                n.server.stop();
            }
            n.forwarder.close();
        }
        for (SimLatencyProxy p : proxies.values()) {
            p.close();
        }
    }
}
