package io.gpud.membership;

import io.gpud.config.GossipConfig;
import io.gpud.core.LogInterval;
import io.gpud.core.MonotonicClock;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's membership in its gossip pool over real sockets: UDP for probes, gossip and
 * load records, TCP for push-pull and join, both on {@code gossip.port}. The entry point
 * of the package for the composition root.
 *
 * <p>All decisions are made by a {@link MembershipStateMachine} (the LAN pool, and with
 * {@code gossip.wanEnabled} the bridge election, region summaries and their relay); this
 * class only moves bytes. One platform thread, {@code gpud-gossip}, owns the machine and
 * runs it as a poll loop: ask it for its next deadline, wait on the inbox until then, hand
 * it what arrived with the current time, run its due timers. Socket readers only copy
 * bytes into the bounded inbox; a full inbox drops the packet as the network would.
 * Readers of the member list and of the region summaries see immutable snapshots
 * published through volatile fields.
 *
 * <p>What a stranger on the network can make this class hold is bounded: at most
 * {@link #MAX_INCOMING_STREAMS} inbound TCP connections at once (more are closed at
 * accept), each read within {@link #STREAM_TIMEOUT}, each frame's length checked against
 * {@link #MAX_STREAM_BYTES} and then reserved from {@link #STREAM_MEMORY_BYTES}, one budget
 * for every frame being read or waiting for the loop, before a byte of the body is
 * buffered. One source address gets at most a quarter of either
 * ({@link #MAX_INCOMING_STREAMS_PER_ADDRESS}, {@link #STREAM_MEMORY_BYTES_PER_ADDRESS}), so
 * a sender that floods the port leaves the rest to the members' push-pulls. A connection
 * over any bound is closed and counted
 * ({@code gpud_gossip_<pool>_rejected_messages_total{reason="stream_connections"|"stream_memory"
 * |"stream_source_connections"|"stream_source_memory"}}), with one log line per
 * {@link #REFUSAL_LOG_EVERY} however many there were. An accept that fails (out of file
 * descriptors) backs off, from {@link #ACCEPT_BACKOFF_MIN} doubling to
 * {@link #ACCEPT_BACKOFF_MAX}, and is logged once per {@link #REFUSAL_LOG_EVERY}.
 */
public final class MembershipAgent implements Membership {

    private static final Logger log = LoggerFactory.getLogger(MembershipAgent.class);

    /** Largest push-pull frame accepted: a full table of a few thousand members. */
    static final int MAX_STREAM_BYTES = 4 * 1024 * 1024;
    private static final int INBOX_CAPACITY = 8192;
    private static final int MAX_OUTGOING_STREAMS = 32;
    /** Inbound stream connections read at once, both pools together. */
    static final int MAX_INCOMING_STREAMS = 64;
    /**
     * Bytes that inbound frames being read or waiting for the loop may hold together: eight of
     * the largest (32 MiB); a push-pull of 600 members is about 150 KiB.
     */
    static final int STREAM_MEMORY_BYTES = 8 * MAX_STREAM_BYTES;
    /** Inbound stream connections read at once from one source address. */
    static final int MAX_INCOMING_STREAMS_PER_ADDRESS = MAX_INCOMING_STREAMS / 4;
    /** Bytes that frames from one source address may hold: two of the largest (8 MiB). */
    static final int STREAM_MEMORY_BYTES_PER_ADDRESS = STREAM_MEMORY_BYTES / 4;
    /** The first pause after a failed accept, doubled after each further failure. */
    private static final Duration ACCEPT_BACKOFF_MIN = Duration.ofMillis(10);
    /** The longest pause after failed accepts. */
    private static final Duration ACCEPT_BACKOFF_MAX = Duration.ofSeconds(1);
    /** The read deadline of an inbound stream, and the write deadline of an outbound one. */
    private static final Duration STREAM_TIMEOUT = Duration.ofSeconds(5);
    /** Refused streams are logged at most once per this interval, with how many there were. */
    private static final Duration REFUSAL_LOG_EVERY = Duration.ofSeconds(10);
    /** Snapshots are rebuilt at most this often (load records arrive many times a second). */
    private static final long SNAPSHOT_EVERY_NANOS = Duration.ofMillis(100).toNanos();

    /** What happens on the protocol thread. */
    private sealed interface Event {
        /** A datagram, and the pool whose port it came in on. */
        record Packet(MembershipStateMachine.Pool pool, InetSocketAddress from, byte[] bytes) implements Event {
        }

        /** A frame whose bytes are reserved from the stream memory budget until the loop handled it. */
        record Stream(MembershipStateMachine.Pool pool, InetSocketAddress from, byte[] bytes) implements Event {
        }

        record Command(java.util.function.Consumer<Long> action, CompletableFuture<Void> done) implements Event {
        }
    }

    private final String nodeId;
    private final DatagramChannel udp;
    private final ServerSocketChannel tcp;
    private final InetSocketAddress advertised;
    private final MembershipStateMachine machine;
    private final Path keyringFile;
    private final BlockingQueue<Event> inbox = new ArrayBlockingQueue<>(INBOX_CAPACITY);
    private final Semaphore outgoingStreams = new Semaphore(MAX_OUTGOING_STREAMS);
    private final InboundStreams incoming = new InboundStreams(MAX_INCOMING_STREAMS,
            MAX_INCOMING_STREAMS_PER_ADDRESS, STREAM_MEMORY_BYTES, STREAM_MEMORY_BYTES_PER_ADDRESS);
    private final LogInterval refusalLog = new LogInterval(MonotonicClock.system(), REFUSAL_LOG_EVERY);
    private final MembershipMetrics metrics;
    private final Thread loop;
    private volatile boolean running = true;
    private volatile List<MemberView> snapshot = List.of();

    // The WAN pool's sockets, bound on every node with it enabled (null when it is off);
    // the machine uses them only while this node is one of its region's bridges.
    private final DatagramChannel wanUdp;
    private final ServerSocketChannel wanTcp;
    private final InetSocketAddress wanAdvertised;
    private volatile Map<String, RegionSummary> regionSnapshot = Map.of();

    private MembershipAgent(String nodeId, GossipConfig config, NodeMetadata metadata, Supplier<LoadRecord> load,
                            PrefixCaches caches, MetricRegistry registry) throws IOException {
        this.nodeId = nodeId;
        this.keyringFile = config.keyringFile();
        Keyring keyring = keyringFile == null ? Keyring.plaintext() : readKeyring(keyringFile);
        InetAddress bind = InetAddress.getByName(config.bindAddress());
        Ports lanPorts = Ports.bind(bind, config.port());
        udp = lanPorts.udp();
        tcp = lanPorts.tcp();
        try {
            udp.setOption(StandardSocketOptions.SO_RCVBUF, 4 * 1024 * 1024);
            advertised = new InetSocketAddress(advertiseHost(config), lanPorts.port());
        } catch (IOException e) {
            lanPorts.close();
            throw e;
        }
        metrics = new MembershipMetrics(registry, "lan");
        if (config.wanEnabled()) {
            Ports wanPorts;
            try {
                wanPorts = Ports.bind(bind, config.wanPort());
            } catch (IOException e) {
                lanPorts.close();
                throw e;
            }
            wanUdp = wanPorts.udp();
            wanTcp = wanPorts.tcp();
            wanAdvertised = new InetSocketAddress(advertised.getAddress(), wanPorts.port());
        } else {
            wanUdp = null;
            wanTcp = null;
            wanAdvertised = null;
        }
        List<InetSocketAddress> seeds = new ArrayList<>();
        for (String seed : config.join()) {
            seeds.add(resolve(seed));
        }
        long now = System.nanoTime();
        var random = new SecureRandom();
        var lan = new SwimProtocol(nodeId, advertised, metadata, config.timing(), keyring,
                new SocketTransport(udp), random, metrics, seeds, load, caches, now);
        Federation federation = Federation.OFF;
        if (config.wanEnabled()) {
            var pool = new RegionFederation.WanPool(wanAdvertised, new SocketTransport(wanUdp),
                    new MembershipMetrics(registry, "wan"), config.wanBridges(), () -> resolveAll(config.wanJoin()));
            federation = new RegionFederation(nodeId, metadata, lan, config.timing(), pool, random, load, now);
        }
        machine = new MembershipStateMachine(lan, federation);
        if (keyringFile != null) {
            machine.onKeyringChange(next -> writeKeyring(keyringFile, next));
        }
        registry.gauge("gpud_gossip_members", "Members this node sees alive or suspect, itself included",
                () -> snapshot.stream().filter(m -> m.state() == MemberState.ALIVE
                        || m.state() == MemberState.SUSPECT).count());
        registry.gauge("gpud_gossip_health_score", "Lifeguard local health score: 0 is healthy",
                machine::awareness);
        loop = Thread.ofPlatform().name("gpud-gossip").daemon().unstarted(this::run);
    }

    /**
     * Binds the gossip port and starts gossiping; joins through {@code gossip.join}.
     *
     * @param load this node's load for the load channel
     */
    public static MembershipAgent start(String nodeId, GossipConfig config, NodeMetadata metadata,
                                        Supplier<LoadRecord> load, MetricRegistry registry) {
        return start(nodeId, config, metadata, load, PrefixCaches.none(nodeId), registry);
    }

    /**
     * Binds the gossip port and starts gossiping; joins through {@code gossip.join}.
     *
     * @param load   this node's load for the load channel
     * @param caches this node's prefix-cache announcements, sent with its load, and where
     *               its region peers' go
     */
    public static MembershipAgent start(String nodeId, GossipConfig config, NodeMetadata metadata,
                                        Supplier<LoadRecord> load, PrefixCaches caches, MetricRegistry registry) {
        config.requireAuthentication();
        MembershipAgent agent;
        try {
            agent = new MembershipAgent(nodeId, config, metadata, load, caches, registry);
        } catch (IOException e) {
            throw new MembershipException("cannot open the gossip port " + config.bindAddress() + ":"
                    + config.port() + ": " + e, e);
        }
        agent.snapshot = agent.machine.snapshot(System.nanoTime());
        agent.loop.start();
        var lan = MembershipStateMachine.Pool.LAN;
        Thread.ofVirtual().name("gpud-gossip-udp").start(() -> agent.receivePackets(agent.udp, lan));
        Thread.ofVirtual().name("gpud-gossip-tcp").start(() -> agent.acceptStreams(agent.tcp, lan));
        if (agent.wanUdp != null) {
            var wan = MembershipStateMachine.Pool.WAN;
            Thread.ofVirtual().name("gpud-gossip-wan-udp").start(() -> agent.receivePackets(agent.wanUdp, wan));
            Thread.ofVirtual().name("gpud-gossip-wan-tcp").start(() -> agent.acceptStreams(agent.wanTcp, wan));
        }
        log.info("gossip on {} (advertised {}), {} seed(s), {}", config.bindAddress() + ":" + agent.port(),
                agent.advertised, config.join().size(),
                agent.machine.keyring().encrypted() ? "AES-256-GCM" : "unencrypted");
        if (!agent.machine.keyring().encrypted()) {
            log.warn("!! INSECURE CLUSTER (gossip.insecure): gossip on port {} is neither authenticated nor encrypted;"
                    + " any host that can reach it can join the cluster and be sent its requests. For demos and tests"
                    + " only: set gossip.keyringFile on real hosts", agent.port());
        }
        return agent;
    }

    /** The bound gossip port. */
    @Override
    public int port() {
        return advertised.getPort();
    }

    /** The members as this node sees them, itself included, sorted by id. */
    @Override
    public List<MemberView> members() {
        return snapshot;
    }

    /** Gossips new metadata (a new incarnation); waits until the protocol took it. */
    @Override
    public void updateMetadata(NodeMetadata metadata) {
        command(now -> machine.updateMetadata(metadata, now));
    }

    /**
     * The newest summary of every region this node knows, its own included (computed from
     * its own member table once a second), keyed by region. Empty while the WAN pool is off.
     */
    @Override
    public Map<String, RegionSummary> regionSummaries() {
        return regionSnapshot;
    }

    /** The WAN pool's port, or -1 when it is off. */
    public int wanPort() {
        return wanAdvertised == null ? -1 : wanAdvertised.getPort();
    }

    /** Whether this node is now one of its region's bridges in the WAN pool. */
    public boolean bridge() {
        var out = new ArrayList<Boolean>(1);
        command(now -> out.add(machine.bridge()));
        return out.getFirst();
    }

    /**
     * Carries network coordinates from now on: this node acks direct pings with
     * {@code exchange.local()} and reports each direct probe's round trip to it.
     */
    @Override
    public void exchangeCoordinates(CoordinateExchange exchange) {
        command(now -> machine.exchangeCoordinates(exchange));
    }

    /** The keyring's keys, base64, the primary first. */
    @Override
    public List<String> keys() {
        var out = new ArrayList<List<String>>(1);
        command(now -> out.add(machine.keyring().keys()));
        return out.getFirst();
    }

    /** What a keyring operation did. */
    public sealed interface KeyringChange {
        /** Applied; the keys now, primary first. */
        record Applied(List<String> keys) implements KeyringChange {
        }

        /** Not applied, and why. */
        record Refused(String reason) implements KeyringChange {
        }
    }

    /** Adds a key that is accepted on receipt but not yet used to send. */
    @Override
    public KeyringChange installKey(String key) {
        return changeKeyring(k -> k.install(key));
    }

    /** Makes an installed key the one every packet is sealed with. */
    @Override
    public KeyringChange useKey(String key) {
        return changeKeyring(k -> k.use(key));
    }

    /** Drops a key that is not the primary. */
    @Override
    public KeyringChange removeKey(String key) {
        return changeKeyring(k -> k.remove(key));
    }

    /** What a cluster keyring operation does: install, use or remove. */
    public enum ClusterKeyOperation { INSTALL, USE, REMOVE }

    /**
     * Applies a keyring operation here and gossips it to every member, each of which
     * applies it once and writes its keyring file. Rotate with install, use, remove, each
     * once the previous one has reached everyone (seconds; {@code gpud keyring list} on
     * any member shows it).
     */
    @Override
    public KeyringChange changeClusterKeyring(ClusterKeyOperation operation, String key) {
        Message.KeyOp.Operation op = Message.KeyOp.Operation.valueOf(operation.name());
        // The machine applies it to its keyring (the one passed in) and gossips it.
        return changeKeyring(current -> machine.clusterKeyOp(op, key));
    }

    private KeyringChange changeKeyring(java.util.function.UnaryOperator<Keyring> change) {
        if (keyringFile == null) {
            return new KeyringChange.Refused("gossip is not encrypted on this node: set gossip.keyringFile");
        }
        var result = new ArrayList<KeyringChange>(1);
        command(now -> {
            Keyring next;
            try {
                next = change.apply(machine.keyring());
            } catch (IllegalArgumentException e) {
                result.add(new KeyringChange.Refused(e.getMessage()));
                return;
            }
            writeKeyring(keyringFile, next);
            machine.setKeyring(next);
            result.add(new KeyringChange.Applied(next.keys()));
        });
        return result.getFirst();
    }

    /** Tells every member this node is leaving, then stops after {@code grace}. */
    @Override
    public void leave(Duration grace) {
        try {
            command(machine::leave);
            Thread.sleep(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void command(java.util.function.Consumer<Long> action) {
        var done = new CompletableFuture<Void>();
        try {
            inbox.put(new Event.Command(action, done));
            done.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MembershipException("interrupted while waiting for the gossip loop", e);
        } catch (ExecutionException e) {
            throw new MembershipException("gossip command failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new MembershipException("the gossip loop did not take a command within 10 s", e);
        }
    }

    // ---------------------------------------------------------------- the loop

    private void run() {
        long lastSnapshot = 0;
        boolean bridge = false;
        while (running) {
            try {
                long now = System.nanoTime();
                long deadline = machine.nextDeadline();
                long wait = deadline - now;
                Event e = wait > 0 ? inbox.poll(wait, TimeUnit.NANOSECONDS) : inbox.poll();
                now = System.nanoTime();
                // Everything already queued runs before the timers, so a loop that fell
                // behind (a long GC, a starved CPU) reads the acks that did arrive before
                // it decides that a probe failed.
                for (int n = 0; e != null; n++) {
                    handle(e, now);
                    e = n < INBOX_CAPACITY ? inbox.poll() : null;
                }
                machine.onTimers(now);
                if (now - lastSnapshot >= SNAPSHOT_EVERY_NANOS && machine.takeChanged()
                        || now - lastSnapshot >= 10 * SNAPSHOT_EVERY_NANOS) {
                    snapshot = List.copyOf(machine.snapshot(now));
                    lastSnapshot = now;
                }
                if (machine.takeSummariesChanged()) {
                    regionSnapshot = machine.regionSummaries(now, Instant.now());
                }
                if (machine.bridge() != bridge) {
                    bridge = !bridge;
                    log.info(bridge ? "elected a bridge of this node's region: joined the WAN pool on {}"
                            : "no longer a bridge of this node's region: left the WAN pool on {}", wanAdvertised);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.error("gossip loop error (continuing): {}", e.toString(), e);
            }
        }
    }

    private void handle(Event e, long now) {
        switch (e) {
            case Event.Packet p -> machine.onPacket(p.pool(), p.from(), p.bytes(), now);
            case Event.Stream s -> {
                try {
                    machine.onStream(s.pool(), s.from(), s.bytes(), now);
                } finally {
                    incoming.release(s.from().getAddress(), s.bytes().length);
                }
            }
            case Event.Command c -> {
                try {
                    c.action().accept(now);
                    c.done().complete(null);
                } catch (RuntimeException ex) {
                    c.done().completeExceptionally(ex);
                }
                snapshot = List.copyOf(machine.snapshot(now));
            }
        }
    }

    private void receivePackets(DatagramChannel udp, MembershipStateMachine.Pool pool) {
        ByteBuffer buf = ByteBuffer.allocate(65_536);
        while (running) {
            try {
                buf.clear();
                var from = (InetSocketAddress) udp.receive(buf);
                buf.flip();
                byte[] bytes = new byte[buf.remaining()];
                buf.get(bytes);
                if (!inbox.offer(new Event.Packet(pool, from, bytes))) {
                    metrics.packetsDropped.inc("inbox_full");
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.debug("gossip receive failed: {}", e.toString());
            }
        }
    }

    private void acceptStreams(ServerSocketChannel tcp, MembershipStateMachine.Pool pool) {
        long backoffNanos = 0;
        var failureLog = new LogInterval(MonotonicClock.system(), REFUSAL_LOG_EVERY);
        while (running) {
            SocketChannel c;
            try {
                c = tcp.accept();
                backoffNanos = 0;
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // Out of file descriptors, most likely: retrying at once would spin. Pause,
                // longer while it lasts, and say so once per interval.
                long failures = failureLog.count();
                if (failures > 0) {
                    log.warn("gossip accept failed {} time(s) in the last {} s, pausing up to {} ms between tries: {}",
                            failures, REFUSAL_LOG_EVERY.toSeconds(), ACCEPT_BACKOFF_MAX.toMillis(), e.toString());
                }
                backoffNanos = Math.min(ACCEPT_BACKOFF_MAX.toNanos(),
                        Math.max(ACCEPT_BACKOFF_MIN.toNanos(), 2 * backoffNanos));
                try {
                    TimeUnit.NANOSECONDS.sleep(backoffNanos);
                } catch (InterruptedException stopped) {
                    return;
                }
                continue;
            }
            InetAddress from;
            try {
                from = ((InetSocketAddress) c.getRemoteAddress()).getAddress();
            } catch (IOException gone) {
                closeQuietly(c);
                continue;
            }
            InboundStreams.Refusal refusal = incoming.open(from);
            if (refusal != null) {
                refuse(c, refusal);
                continue;
            }
            Thread.ofVirtual().name("gpud-gossip-stream").start(() -> {
                try {
                    readStream(c, from, pool);
                } finally {
                    incoming.close(from);
                }
            });
        }
    }

    /**
     * One frame: a 4-byte length, then that many bytes; anything else is dropped. The length
     * is checked against the cap and reserved from the memory budget before the body is
     * read; the whole read has {@link #STREAM_TIMEOUT}.
     */
    private void readStream(SocketChannel c, InetAddress from, MembershipStateMachine.Pool pool) {
        var watchdog = CompletableFuture.runAsync(() -> closeQuietly(c),
                CompletableFuture.delayedExecutor(STREAM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        boolean queued = false;
        int reserved = 0;
        try (c) {
            ByteBuffer head = ByteBuffer.allocate(4);
            if (!readFully(c, head)) {
                metrics.packetsDropped.inc("stream");
                return;
            }
            int len = head.flip().getInt();
            if (len < 0 || len > MAX_STREAM_BYTES) {
                metrics.packetsDropped.inc("size");
                return;
            }
            InboundStreams.Refusal refusal = incoming.reserve(from, len);
            if (refusal != null) {
                refuse(c, refusal);
                return;
            }
            reserved = len;
            byte[] body = new byte[len];
            if (!readFully(c, ByteBuffer.wrap(body))) {
                metrics.packetsDropped.inc("stream");
                return;
            }
            queued = inbox.offer(new Event.Stream(pool, (InetSocketAddress) c.getRemoteAddress(), body));
            if (!queued) {
                metrics.packetsDropped.inc("inbox_full");
            }
        } catch (IOException e) {
            metrics.packetsDropped.inc("stream");
        } finally {
            watchdog.cancel(false);
            if (!queued) {
                incoming.release(from, reserved);
            }
        }
    }

    /** Reads until {@code into} is full, in whatever pieces the socket gives; false at an early end. */
    private static boolean readFully(SocketChannel c, ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (c.read(into) < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Closes an inbound stream over a bound and counts it; logs one line per
     * {@link #REFUSAL_LOG_EVERY}, with how many were refused since the last.
     */
    private void refuse(SocketChannel c, InboundStreams.Refusal refusal) {
        metrics.rejected.inc(refusal.reason());
        long refused = refusalLog.count();
        if (refused > 0) {
            String from;
            try {
                from = String.valueOf(c.getRemoteAddress());
            } catch (IOException e) {
                from = "a closed connection";
            }
            log.warn("gossip streams refused: {} in the last {} s, the latest from {}: {}",
                    refused, REFUSAL_LOG_EVERY.toSeconds(), from, refusal.detail());
        }
        closeQuietly(c);
    }

    /** Sockets under the protocol: sends never block the loop for long and never throw. */
    private final class SocketTransport implements Transport {
        private final DatagramChannel udp;

        SocketTransport(DatagramChannel udp) {
            this.udp = udp;
        }

        @Override
        public void sendPacket(InetSocketAddress to, byte[] packet) {
            try {
                udp.send(ByteBuffer.wrap(packet), to);
            } catch (IOException e) {
                log.debug("gossip send to {} failed: {}", to, e.toString());
            }
        }

        @Override
        public void sendStream(InetSocketAddress to, byte[] frame) {
            if (!outgoingStreams.tryAcquire()) {
                log.debug("gossip stream to {} skipped: {} already in progress", to, MAX_OUTGOING_STREAMS);
                return;
            }
            Thread.ofVirtual().name("gpud-gossip-send").start(() -> {
                try (SocketChannel c = SocketChannel.open()) {
                    var watchdog = CompletableFuture.runAsync(() -> closeQuietly(c),
                            CompletableFuture.delayedExecutor(STREAM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
                    try {
                        c.connect(to);
                        ByteBuffer out = ByteBuffer.allocate(4 + frame.length).putInt(frame.length).put(frame).flip();
                        while (out.hasRemaining()) {
                            c.write(out);
                        }
                    } finally {
                        watchdog.cancel(false);
                    }
                } catch (IOException e) {
                    log.debug("gossip stream to {} failed: {}", to, e.toString());
                } finally {
                    outgoingStreams.release();
                }
            });
        }
    }

    // ---------------------------------------------------------------- files and addresses

    /** A pool's UDP and TCP listeners, on one port number. */
    private record Ports(DatagramChannel udp, ServerSocketChannel tcp, int port) {

        /** Tries for port 0: the port UDP was given may be taken for TCP (a connection's own port). */
        private static final int ATTEMPTS = 8;

        /** Binds both on {@code port}; for 0, on one free port number, trying again while TCP finds it taken. */
        static Ports bind(InetAddress address, int port) throws IOException {
            for (int attempt = 1; ; attempt++) {
                DatagramChannel udp = DatagramChannel.open(StandardProtocolFamily.INET);
                ServerSocketChannel tcp = null;
                try {
                    udp.bind(new InetSocketAddress(address, port));
                    int bound = ((InetSocketAddress) udp.getLocalAddress()).getPort();
                    tcp = ServerSocketChannel.open(StandardProtocolFamily.INET);
                    tcp.bind(new InetSocketAddress(address, bound));
                    return new Ports(udp, tcp, bound);
                } catch (IOException e) {
                    udp.close();
                    if (tcp != null) {
                        tcp.close();
                    }
                    if (port != 0 || attempt == ATTEMPTS || !(e instanceof java.net.BindException)) {
                        throw e;
                    }
                }
            }
        }

        void close() {
            closeQuietly(udp);
            closeQuietly(tcp);
        }
    }

    /** Reads a keyring file: base64 keys, one a line, blank lines and #-comments ignored. */
    static Keyring readKeyring(Path file) {
        try {
            if (Files.size(file) > 64 * 1024) {
                throw new MembershipException("keyring file " + file + " is larger than 64 KiB");
            }
            List<String> keys = Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::trim)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
            return Keyring.of(keys);
        } catch (IOException e) {
            throw new MembershipException("cannot read the keyring file " + file + ": " + e, e);
        } catch (IllegalArgumentException e) {
            throw new MembershipException("keyring file " + file + ": " + e.getMessage(), e);
        }
    }

    private static void writeKeyring(Path file, Keyring keyring) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.write(tmp, keyring.keys(), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new MembershipException("cannot write the keyring file " + file + ": " + e, e);
        }
    }

    private static InetAddress advertiseHost(GossipConfig config) throws UnknownHostException {
        if (config.advertiseAddress() != null) {
            return InetAddress.getByName(config.advertiseAddress());
        }
        InetAddress bind = InetAddress.getByName(config.bindAddress());
        return bind.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : bind;
    }

    /** The seeds that resolve now; one that does not is skipped (it may resolve at the next election). */
    private static List<InetSocketAddress> resolveAll(List<String> seeds) {
        var out = new ArrayList<InetSocketAddress>();
        for (String seed : seeds) {
            try {
                out.add(resolve(seed));
            } catch (UnknownHostException e) {
                log.debug("WAN seed {} does not resolve: {}", seed, e.toString());
            }
        }
        return out;
    }

    private static InetSocketAddress resolve(String hostPort) throws UnknownHostException {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(InetAddress.getByName(hostPort.substring(0, colon)),
                Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing is best effort
        }
    }

    @Override
    public void close() {
        running = false;
        loop.interrupt();
        closeQuietly(udp);
        closeQuietly(tcp);
        if (wanUdp != null) {
            closeQuietly(wanUdp);
            closeQuietly(wanTcp);
        }
        try {
            loop.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("gossip stopped ({})", nodeId);
    }
}
