package io.gpud.membership;

import io.gpud.config.GossipConfig;
import io.gpud.config.MembershipConfig;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
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
import java.util.ArrayList;
import java.util.List;
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
 * <p>One platform thread, {@code gpud-gossip}, owns the {@link SwimProtocol} and runs it
 * in the shape of a poll loop: ask the protocol for its next deadline, wait on the inbox
 * until then, hand it the one event that arrived (or none) with the current time, run its
 * due timers. Socket readers only copy bytes into the bounded inbox; a full inbox drops
 * the packet as the network would. Readers of the member list see an immutable snapshot
 * published through a volatile field.
 */
public final class MembershipAgent implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MembershipAgent.class);

    /** Largest push-pull frame accepted: a full table of a few thousand members. */
    static final int MAX_STREAM_BYTES = 4 * 1024 * 1024;
    private static final int INBOX_CAPACITY = 8192;
    private static final int MAX_OUTGOING_STREAMS = 32;
    private static final Duration STREAM_TIMEOUT = Duration.ofSeconds(5);
    /** Snapshots are rebuilt at most this often (load records arrive many times a second). */
    private static final long SNAPSHOT_EVERY_NANOS = Duration.ofMillis(100).toNanos();

    /** What happens on the protocol thread. */
    private sealed interface Event {
        /** A datagram; {@code wan} when it came in on the WAN pool's port. */
        record Packet(InetSocketAddress from, byte[] bytes, boolean wan) implements Event {
        }

        record Stream(InetSocketAddress from, byte[] bytes, boolean wan) implements Event {
        }

        record Command(java.util.function.Consumer<Long> action, CompletableFuture<Void> done) implements Event {
        }
    }

    private final String nodeId;
    private final DatagramChannel udp;
    private final ServerSocketChannel tcp;
    private final InetSocketAddress advertised;
    private final SwimProtocol protocol;
    private final Path keyringFile;
    private final BlockingQueue<Event> inbox = new ArrayBlockingQueue<>(INBOX_CAPACITY);
    private final Semaphore outgoingStreams = new Semaphore(MAX_OUTGOING_STREAMS);
    private final MembershipMetrics metrics;
    private final Thread loop;
    private volatile boolean running = true;
    private volatile List<MemberView> snapshot = List.of();

    // The WAN pool: sockets bound on every node with it enabled, a protocol only while
    // this node is one of its region's bridges. All of it belongs to the loop thread.
    private static final long SUMMARY_EVERY_NANOS = Duration.ofSeconds(1).toNanos();
    /** A region not heard from for this long is dropped from the summaries. */
    private static final long SUMMARY_EXPIRY_NANOS = Duration.ofSeconds(60).toNanos();
    private final GossipConfig config;
    private final NodeMetadata[] currentMetadata = new NodeMetadata[1];
    private final Supplier<LoadRecord> load;
    private final DatagramChannel wanUdp;
    private final ServerSocketChannel wanTcp;
    private final InetSocketAddress wanAdvertised;
    private final MembershipMetrics wanMetrics;
    private SwimProtocol wan;
    private long summarySeq;
    private long nextSummaryNanos;
    private final java.util.Map<String, RegionSummary> regions = new java.util.HashMap<>();
    private final java.util.Map<String, Long> regionsHeardNanos = new java.util.HashMap<>();
    /** The newest summary per other region that came across since the last tick. */
    private final java.util.Map<String, Message.Summary> toRelay = new java.util.HashMap<>();
    private volatile java.util.Map<String, RegionSummary> regionSnapshot = java.util.Map.of();

    private MembershipAgent(String nodeId, GossipConfig config, NodeMetadata metadata, Supplier<LoadRecord> load,
                            MetricRegistry registry) throws IOException {
        this.nodeId = nodeId;
        this.config = config;
        this.load = load;
        this.currentMetadata[0] = metadata;
        this.keyringFile = config.keyringFile();
        Keyring keyring = keyringFile == null ? Keyring.plaintext() : readKeyring(keyringFile);
        if (!keyring.encrypted()) {
            log.warn("gossip is NOT encrypted: set gossip.keyringFile to a file of base64 AES-256 keys");
        }
        InetSocketAddress bind = new InetSocketAddress(InetAddress.getByName(config.bindAddress()), config.port());
        udp = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            udp.setOption(StandardSocketOptions.SO_RCVBUF, 4 * 1024 * 1024);
            udp.bind(bind);
            int port = ((InetSocketAddress) udp.getLocalAddress()).getPort();
            tcp = ServerSocketChannel.open(StandardProtocolFamily.INET);
            tcp.bind(new InetSocketAddress(bind.getAddress(), port));
            advertised = new InetSocketAddress(advertiseHost(config), port);
        } catch (IOException e) {
            udp.close();
            throw e;
        }
        metrics = new MembershipMetrics(registry, "lan");
        if (config.wanEnabled()) {
            try {
                var wanBind = new InetSocketAddress(bind.getAddress(), config.wanPort());
                wanUdp = DatagramChannel.open(StandardProtocolFamily.INET);
                wanUdp.bind(wanBind);
                int wanPort = ((InetSocketAddress) wanUdp.getLocalAddress()).getPort();
                wanTcp = ServerSocketChannel.open(StandardProtocolFamily.INET);
                wanTcp.bind(new InetSocketAddress(bind.getAddress(), wanPort));
                wanAdvertised = new InetSocketAddress(advertised.getAddress(), wanPort);
            } catch (IOException e) {
                udp.close();
                tcp.close();
                throw e;
            }
            wanMetrics = new MembershipMetrics(registry, "wan");
        } else {
            wanUdp = null;
            wanTcp = null;
            wanAdvertised = null;
            wanMetrics = null;
        }
        List<InetSocketAddress> seeds = new ArrayList<>();
        for (String seed : config.join()) {
            seeds.add(resolve(seed));
        }
        protocol = new SwimProtocol(nodeId, advertised, metadata, config.timing(), keyring,
                new SocketTransport(udp), new SecureRandom(), metrics, seeds, load, System.nanoTime());
        protocol.onSummary(this::onRelayedSummary);
        protocol.onKeyringChange(this::keyringChangedByCluster);
        registry.gauge("gpud_gossip_members", "Members this node sees alive or suspect, itself included",
                () -> snapshot.stream().filter(m -> m.state() == MemberState.ALIVE
                        || m.state() == MemberState.SUSPECT).count());
        registry.gauge("gpud_gossip_health_score", "Lifeguard local health score: 0 is healthy",
                protocol::awareness);
        loop = Thread.ofPlatform().name("gpud-gossip").daemon().unstarted(this::run);
    }

    /**
     * Binds the gossip port and starts gossiping; joins through {@code gossip.join}.
     *
     * @param load this node's load for the load channel
     */
    public static MembershipAgent start(String nodeId, GossipConfig config, NodeMetadata metadata,
                                        Supplier<LoadRecord> load, MetricRegistry registry) {
        MembershipAgent agent;
        try {
            agent = new MembershipAgent(nodeId, config, metadata, load, registry);
        } catch (IOException e) {
            throw new MembershipException("cannot open the gossip port " + config.bindAddress() + ":"
                    + config.port() + ": " + e, e);
        }
        agent.snapshot = agent.protocol.snapshot(System.nanoTime());
        agent.loop.start();
        Thread.ofVirtual().name("gpud-gossip-udp").start(() -> agent.receivePackets(agent.udp, false));
        Thread.ofVirtual().name("gpud-gossip-tcp").start(() -> agent.acceptStreams(agent.tcp, false));
        if (agent.wanUdp != null) {
            Thread.ofVirtual().name("gpud-gossip-wan-udp").start(() -> agent.receivePackets(agent.wanUdp, true));
            Thread.ofVirtual().name("gpud-gossip-wan-tcp").start(() -> agent.acceptStreams(agent.wanTcp, true));
        }
        log.info("gossip on {} (advertised {}), {} seed(s), {}", config.bindAddress() + ":" + agent.port(),
                agent.advertised, config.join().size(),
                agent.protocol.keyring().encrypted() ? "AES-256-GCM" : "unencrypted");
        return agent;
    }

    /** The bound gossip port. */
    public int port() {
        return advertised.getPort();
    }

    /** The members as this node sees them, itself included, sorted by id. */
    public List<MemberView> members() {
        return snapshot;
    }

    /** Gossips new metadata (a new incarnation); waits until the protocol took it. */
    public void updateMetadata(NodeMetadata metadata) {
        command(now -> {
            protocol.updateMetadata(metadata, now);
            currentMetadata[0] = metadata;
            if (wan != null) {
                wan.updateMetadata(metadata, now);
            }
        });
    }

    /**
     * The newest summary of every region this node knows, its own included (computed from
     * its own member table once a second), keyed by region. Empty while the WAN pool is off.
     */
    public java.util.Map<String, RegionSummary> regionSummaries() {
        return regionSnapshot;
    }

    /** The WAN pool's port, or -1 when it is off. */
    public int wanPort() {
        return wanAdvertised == null ? -1 : wanAdvertised.getPort();
    }

    /** Whether this node is now one of its region's bridges in the WAN pool. */
    public boolean bridge() {
        var out = new ArrayList<Boolean>(1);
        command(now -> out.add(wan != null));
        return out.getFirst();
    }

    /**
     * Carries network coordinates from now on: this node acks direct pings with
     * {@code exchange.local()} and reports each direct probe's round trip to it.
     */
    public void exchangeCoordinates(CoordinateExchange exchange) {
        command(now -> protocol.exchangeCoordinates(exchange));
    }

    /** The keyring's keys, base64, the primary first. */
    public List<String> keys() {
        var out = new ArrayList<List<String>>(1);
        command(now -> out.add(protocol.keyring().keys()));
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
    public KeyringChange installKey(String key) {
        return changeKeyring(k -> k.install(key));
    }

    /** Makes an installed key the one every packet is sealed with. */
    public KeyringChange useKey(String key) {
        return changeKeyring(k -> k.use(key));
    }

    /** Drops a key that is not the primary. */
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
    public KeyringChange changeClusterKeyring(ClusterKeyOperation operation, String key) {
        Message.KeyOp.Operation op = Message.KeyOp.Operation.valueOf(operation.name());
        // The protocol applies it to its keyring (the one passed in) and gossips it.
        return changeKeyring(current -> protocol.clusterKeyOp(op, key));
    }

    /** A cluster operation changed this member's keyring: keep the file and the WAN pool in step. */
    private void keyringChangedByCluster(Keyring next) {
        if (keyringFile != null) {
            writeKeyring(keyringFile, next);
        }
        if (wan != null) {
            wan.setKeyring(next);
        }
    }

    private KeyringChange changeKeyring(java.util.function.UnaryOperator<Keyring> change) {
        if (keyringFile == null) {
            return new KeyringChange.Refused("gossip is not encrypted on this node: set gossip.keyringFile");
        }
        var result = new ArrayList<KeyringChange>(1);
        command(now -> {
            Keyring next;
            try {
                next = change.apply(protocol.keyring());
            } catch (IllegalArgumentException e) {
                result.add(new KeyringChange.Refused(e.getMessage()));
                return;
            }
            writeKeyring(keyringFile, next);
            protocol.setKeyring(next);
            if (wan != null) {
                wan.setKeyring(next);
            }
            result.add(new KeyringChange.Applied(next.keys()));
        });
        return result.getFirst();
    }

    /** Tells every member this node is leaving, then stops after {@code grace}. */
    public void leave(Duration grace) {
        try {
            command(now -> {
                protocol.leave(now);
                if (wan != null) {
                    wan.leave(now);
                }
            });
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
        while (running) {
            try {
                long now = System.nanoTime();
                long deadline = protocol.nextDeadline();
                if (wanUdp != null) {
                    deadline = Math.min(deadline, nextSummaryNanos);
                    if (wan != null) {
                        deadline = Math.min(deadline, wan.nextDeadline());
                    }
                }
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
                protocol.onTimers(now);
                if (wanUdp != null) {
                    wanTick(now);
                }
                if (now - lastSnapshot >= SNAPSHOT_EVERY_NANOS && protocol.takeChanged()
                        || now - lastSnapshot >= 10 * SNAPSHOT_EVERY_NANOS) {
                    snapshot = List.copyOf(protocol.snapshot(now));
                    lastSnapshot = now;
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
            case Event.Packet p -> {
                if (!p.wan()) {
                    protocol.onPacket(p.from(), p.bytes(), now);
                } else if (wan != null) {
                    wan.onPacket(p.from(), p.bytes(), now);
                }
            }
            case Event.Stream s -> {
                if (!s.wan()) {
                    protocol.onStream(s.from(), s.bytes(), now);
                } else if (wan != null) {
                    wan.onStream(s.from(), s.bytes(), now);
                }
            }
            case Event.Command c -> {
                try {
                    c.action().accept(now);
                    c.done().complete(null);
                } catch (RuntimeException ex) {
                    c.done().completeExceptionally(ex);
                }
                snapshot = List.copyOf(protocol.snapshot(now));
            }
        }
    }

    // ---------------------------------------------------------------- the WAN pool

    /**
     * The WAN pool's timers, and once a second: elect this region's bridges, join or leave
     * the pool accordingly, summarize this region, send the summary across, and relay the
     * summaries that came across to this bridge's share of the region.
     */
    private void wanTick(long now) {
        if (wan != null) {
            wan.onTimers(now);
        }
        if (now < nextSummaryNanos) {
            return;
        }
        nextSummaryNanos = now + SUMMARY_EVERY_NANOS;
        String region = currentMetadata[0].region();
        var table = protocol.members().values();
        List<String> bridges = RegionBridges.elect(table, region, config.wanBridges());
        boolean elected = bridges.contains(nodeId);
        if (elected && wan == null) {
            var seeds = new ArrayList<InetSocketAddress>();
            for (String seed : config.wanJoin()) {
                try {
                    seeds.add(resolve(seed));
                } catch (UnknownHostException e) {
                    log.debug("WAN seed {} does not resolve: {}", seed, e.toString());
                }
            }
            // Bridges of other regions, as their relayed summaries name them.
            regions.values().stream().filter(r -> !r.region().equals(region)).forEach(r -> seeds.add(r.bridgeWan()));
            wan = new SwimProtocol(nodeId, wanAdvertised, currentMetadata[0], MembershipConfig.wan(),
                    protocol.keyring(), new SocketTransport(wanUdp), new SecureRandom(), wanMetrics,
                    seeds, null, now);
            wan.onSummary(this::onWanSummary);
            log.info("elected a bridge of region {}: joining the WAN pool on {}", region, wanAdvertised);
        } else if (!elected && wan != null) {
            wan.leave(now);
            wan = null;
            log.info("no longer a bridge of region {}: left the WAN pool", region);
        }
        Message.Summary own = RegionBridges.summarize(table, region, nodeId, load == null ? null : load.get(),
                wanAdvertised, ++summarySeq, config.timing().maxPacketBytes() - 64);
        store(own, now);
        if (wan != null) {
            for (Member m : wan.members().values()) {
                if (m.live() && !m.name.equals(nodeId) && !region.equals(m.metadata.region())) {
                    wan.sendDirect(m.address, own);
                }
            }
            // This bridge's share of the region: peers by id, every bridges.size()-th one.
            List<Member> peers = table.stream().filter(m -> m.live() && !bridges.contains(m.name)
                    && region.equals(m.metadata.region())).sorted(java.util.Comparator.comparing(m -> m.name))
                    .toList();
            int share = bridges.indexOf(nodeId);
            // (The other bridges hear the other regions across the WAN pool themselves.)
            for (Message.Summary r : toRelay.values()) {
                for (int i = share; i < peers.size(); i += bridges.size()) {
                    protocol.sendDirect(peers.get(i).address, r);
                }
            }
        }
        toRelay.clear();
        regionsHeardNanos.entrySet().removeIf(e -> {
            boolean expired = now - e.getValue() > SUMMARY_EXPIRY_NANOS;
            if (expired) {
                regions.remove(e.getKey());
            }
            return expired;
        });
        regionSnapshot = java.util.Map.copyOf(regions);
    }

    /** A summary from another region, straight from the WAN pool: keep it and relay it. */
    private void onWanSummary(Message.Summary r) {
        if (!r.region().equals(currentMetadata[0].region())) {
            store(r, System.nanoTime());
            toRelay.put(r.region(), r);
        }
    }

    /** A summary relayed by one of this region's bridges. */
    private void onRelayedSummary(Message.Summary r) {
        if (!r.region().equals(currentMetadata[0].region())) {
            store(r, System.nanoTime());
        }
    }

    private void store(Message.Summary r, long now) {
        RegionSummary old = regions.get(r.region());
        if (old != null && old.bridge().equals(r.bridge()) && old.sequence() >= r.sequence()) {
            return;
        }
        regions.put(r.region(), new RegionSummary(r.region(), r.healthyHosts(), r.capacity(), r.models(),
                r.bridge(), r.sequence(), java.time.Instant.now(), r.bridgeWan()));
        regionsHeardNanos.put(r.region(), now);
    }

    private void receivePackets(DatagramChannel udp, boolean wanPool) {
        ByteBuffer buf = ByteBuffer.allocate(65_536);
        while (running) {
            try {
                buf.clear();
                var from = (InetSocketAddress) udp.receive(buf);
                buf.flip();
                byte[] bytes = new byte[buf.remaining()];
                buf.get(bytes);
                if (!inbox.offer(new Event.Packet(from, bytes, wanPool))) {
                    metrics.packetsDropped.inc("inbox_full");
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.debug("gossip receive failed: {}", e.toString());
            }
        }
    }

    private void acceptStreams(ServerSocketChannel tcp, boolean wanPool) {
        while (running) {
            try {
                SocketChannel c = tcp.accept();
                Thread.ofVirtual().name("gpud-gossip-stream").start(() -> readStream(c, wanPool));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.debug("gossip accept failed: {}", e.toString());
            }
        }
    }

    /** One frame: a 4-byte length, then that many bytes; anything else is dropped. */
    private void readStream(SocketChannel c, boolean wanPool) {
        var watchdog = CompletableFuture.runAsync(() -> closeQuietly(c),
                CompletableFuture.delayedExecutor(STREAM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        try (c) {
            InputStream in = Channels.newInputStream(c);
            byte[] head = in.readNBytes(4);
            if (head.length < 4) {
                metrics.packetsDropped.inc("stream");
                return;
            }
            int len = ByteBuffer.wrap(head).getInt();
            if (len < 0 || len > MAX_STREAM_BYTES) {
                metrics.packetsDropped.inc("size");
                return;
            }
            byte[] body = in.readNBytes(len);
            if (body.length < len) {
                metrics.packetsDropped.inc("stream");
                return;
            }
            if (!inbox.offer(new Event.Stream((InetSocketAddress) c.getRemoteAddress(), body, wanPool))) {
                metrics.packetsDropped.inc("inbox_full");
            }
        } catch (IOException e) {
            metrics.packetsDropped.inc("stream");
        } finally {
            watchdog.cancel(false);
        }
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
