package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.gpud.config.ConfigException;
import io.gpud.config.ConfigLoader;
import io.gpud.config.GossipConfig;
import io.gpud.config.MembershipConfig;
import io.gpud.membership.Message.Alive;
import io.gpud.membership.Message.Dead;
import io.gpud.membership.Message.IndirectPing;
import io.gpud.membership.Message.Load;
import io.gpud.membership.Message.MemberEntry;
import io.gpud.membership.Message.Ping;
import io.gpud.membership.Message.PushPull;
import io.gpud.metrics.MetricRegistry;
import io.gpud.routing.Vivaldi;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gossip port under input nobody in the cluster wrote, over real UDP and TCP on
 * loopback: a plain sender posing as a member, the one datagram that used to evict a node
 * for good, the three ways a node could be made to send traffic at a victim's address, and
 * a flood of maximum-size TCP frames at a node in a JVM of its own with a 256 MiB heap.
 */
class HostileGossipTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Random RANDOM = new Random(17);

    private final List<AutoCloseable> open = new ArrayList<>();
    private final Map<MembershipAgent, MetricRegistry> registries = new HashMap<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    // ---------------------------------------------------------------- a fake member

    @Test
    void aPlainSenderOfAliveAndLoadRecordsCannotBecomeAMemberOfADefaultNode(@TempDir Path dir) throws Exception {
        GossipConfig defaults = new ConfigLoader(Map.of(), dir).load(null, Map.of(
                "gossip.bindAddress", "127.0.0.1", "gossip.port", "0", "gossip.profile", "loopback")).gossip();
        try {
            MembershipAgent node = start("victim", defaults);
            assertFakeMemberRefused(node);
        } catch (ConfigException e) {
            assertTrue(e.getMessage().contains("gossip.keyringFile") && e.getMessage().contains("gossip.insecure"),
                    "the refusal names both settings: " + e.getMessage());
        }
        // Started the way the refusal says, with a keyring, the node takes no plain sender either.
        Path keyring = keyringFile(dir);
        assertFakeMemberRefused(start("keyed", new GossipConfig(defaults.enabled(), defaults.bindAddress(),
                defaults.port(), null, List.of(), keyring, false, defaults.profile(), "", "", "", 4, false, 0,
                List.of(), 1)));
    }

    /** Sends Alive + Load as "evil" in plain text, answering pings, and expects no member "evil". */
    private void assertFakeMemberRefused(MembershipAgent node) throws Exception {
        try (var evil = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            var self = (InetSocketAddress) evil.getLocalSocketAddress();
            var meta = new NodeMetadata("local", "127.0.0.1", 8400, "", "", "", "READY",
                    List.of(new NodeMetadata.Model("gpud-demo", "1")), 64, "test");
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), node.port());
            double dropped = counter(node, "dropped_packets_total{reason=\"decrypt\"}");
            send(evil, to, new Alive(1, "evil", self, meta.encode()));
            send(evil, to, new Load(new LoadRecord("evil", 1, 0, 0, 0, 1000f)));
            await("the node took 'evil' as a member, or dropped both of its packets",
                    () -> isMember(node, "evil") || counter(node, "dropped_packets_total{reason=\"decrypt\"}")
                            >= dropped + 2);
            assertFalse(isMember(node, "evil"), "a plain sender became a member: " + node.members());
        }
    }

    // ---------------------------------------------------------------- the incarnation datagram

    @Test
    void aDeadAtTheLargestIncarnationNeitherEvictsNorOverflows() throws Exception {
        MembershipAgent a = insecure("a", List.of());
        MembershipAgent b = insecure("b", List.of("127.0.0.1:" + a.port()));
        await("a and b see each other alive", () -> alive(a, "b") && alive(b, "a"));

        // The datagram: plain marker, DEAD, incarnation 2^63-1, node, accuser.
        try (var evil = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            evil.send(datagram(deadAtMax("b"), a.port()));
            evil.send(datagram(deadAtMax("b"), b.port()));
        }
        await("a and b refused the absurd incarnation (or a let b die)",
                () -> !alive(a, "b") || counter(a, "rejected_messages_total{reason=\"incarnation\"}") >= 1
                        && counter(b, "rejected_messages_total{reason=\"incarnation\"}") >= 1);
        assertTrue(alive(a, "b"), "b evicted by one datagram: a sees " + view(a, "b"));
        // Still alive a dozen probe rounds later, at an incarnation every peer can parse.
        double probes = counter(a, "probes_total");
        await("a probed a dozen times more", () -> counter(a, "probes_total") >= probes + 12);
        assertTrue(alive(a, "b"), "a sees " + view(a, "b"));
        assertTrue(view(b, "b").incarnation() <= SwimProtocol.MAX_INCARNATION, "b's incarnation " + view(b, "b"));
    }

    @Test
    void anAliveAtTheLimitFreezesNobody() throws Exception {
        MembershipAgent a = insecure("a", List.of());
        MembershipAgent b = insecure("b", List.of("127.0.0.1:" + a.port()));
        MembershipAgent c = insecure("c", List.of("127.0.0.1:" + a.port()));
        await("a, b and c see each other alive", () -> alive(a, "b") && alive(a, "c") && alive(b, "c")
                && alive(c, "b") && alive(b, "a") && alive(c, "a"));

        // One datagram to each: b is alive at the largest incarnation there is.
        var forged = new Alive(SwimProtocol.MAX_INCARNATION, "b", local(b.port()), view(a, "b").metadata().encode());
        try (var evil = udp()) {
            for (MembershipAgent node : List.of(a, b, c)) {
                send(evil, local(node.port()), forged);
                marker(evil, node, node == a ? "a" : node == b ? "b" : "c");
            }
        }
        // b can still change what it tells the cluster about itself.
        var draining = new NodeMetadata("local", "127.0.0.1", 8400, "", "", "", "DRAINING", List.of(), 4, "test");
        b.updateMetadata(draining);
        await(() -> "a and c see b DRAINING (a sees " + view(a, "b") + ")",
                () -> "DRAINING".equals(view(a, "b").metadata().nodeState())
                        && "DRAINING".equals(view(c, "b").metadata().nodeState()));
        assertTrue(view(b, "b").incarnation() < SwimProtocol.MAX_INCARNATION, "b's incarnation " + view(b, "b"));
        // b still refutes a real accusation (a suspicion at what a holds) ...
        long held = view(a, "b").incarnation();
        try (var evil = udp()) {
            send(evil, local(b.port()), new Message.Suspect(held, "b", "a"));
            marker(evil, b, "b");
        }
        await("b refuted the suspicion at " + held + " and a holds the refutation",
                () -> view(a, "b").incarnation() > held && alive(a, "b"));
        // ... and dies a real death when it stops.
        b.close();
        await(() -> "a and c see b dead (a sees " + view(a, "b") + ")", () -> !view(a, "b").live() && !view(c, "b").live());
    }

    /** The datagram: Dead(node, incarnation 2^63-1) from "x", in plain text, built by hand. */
    private static byte[] deadAtMax(String node) {
        byte[] id = node.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer out = ByteBuffer.allocate(2 + 8 + 1 + id.length + 2);
        out.put((byte) 0).put((byte) 7).putLong(Long.MAX_VALUE).put((byte) id.length).put(id).put((byte) 1)
                .put((byte) 'x');
        return out.array();
    }

    @Test
    void aRefutationAtTheLimitSaturatesAndStaysParseable() {
        var metrics = new MembershipMetrics(new MetricRegistry(), "limit");
        var sent = new ArrayList<byte[]>();
        Transport capture = new Transport() {
            @Override
            public void sendPacket(InetSocketAddress to, byte[] packet) {
                sent.add(packet);
            }

            @Override
            public void sendStream(InetSocketAddress to, byte[] frame) {
                sent.add(frame);
            }
        };
        var meta = new NodeMetadata("local", "10.0.0.1", 8400, "", "", "", "READY", List.of(), 4, "test");
        var random = new SplittableRandom(3);
        var self = SimNetwork.address(0);
        var peer = SimNetwork.address(1);
        var p = new SwimProtocol("a", self, meta, MembershipConfig.lan(), Keyring.plaintext(), capture,
                random, metrics, List.of(), null, 0);
        // A member's push-pull says we died just below the limit (as after a restart): we outbid it, at the limit.
        p.onStream(peer, plain(new PushPull(false, true, "b", peer, List.of(
                new MemberEntry("b", peer, 1, MemberState.ALIVE, meta.encode()),
                new MemberEntry("a", self, SwimProtocol.MAX_INCARNATION - 1, MemberState.DEAD,
                        meta.encode())))), 1);
        assertEquals(SwimProtocol.MAX_INCARNATION, p.incarnation());
        // New metadata saturates instead of going past it.
        p.updateMetadata(new NodeMetadata("local", "10.0.0.1", 8401, "", "", "", "READY", List.of(), 4, "test"), 2);
        assertEquals(SwimProtocol.MAX_INCARNATION, p.incarnation());
        // An accusation at the limit could not be outbid: refused and counted, and we stay alive.
        p.onPacket(peer, plain(new Dead(SwimProtocol.MAX_INCARNATION, "a", "b")), 3);
        assertEquals(1, metrics.rejected.value("incarnation"));
        assertEquals(MemberState.ALIVE, p.members().get("a").state);
        // The alive we gossip decodes at every peer.
        sent.clear();
        p.onPacket(peer, plain(new Ping(9, "a", "b", peer)), 4);
        Message ack = Codec.decode(Keyring.plaintext().open(sent.getFirst()));
        assertTrue(ack.toString().contains("Alive[incarnation=" + SwimProtocol.MAX_INCARNATION + ", node=a"),
                ack.toString());
    }

    // ---------------------------------------------------------------- reflection

    @Test
    void pingsNamingAVictimGetNoReplyLargerThanThemselves() throws Exception {
        MembershipAgent a = insecure("a", List.of());
        MembershipAgent b = insecure("b", List.of("127.0.0.1:" + a.port()));
        a.exchangeCoordinates(new Vivaldi(new Random(1)));
        await("a and b see each other alive", () -> alive(a, "b") && alive(b, "a"));
        try (var victim = udp(); var evil = udp()) {
            long in = 0;
            for (int seq = 1; seq <= 100; seq++) {
                in += send(evil, local(a.port()), new Ping(seq, "a", "evil", address(victim)));
            }
            marker(evil, a, "a");
            long out = drain(victim, Duration.ofMillis(300));
            System.out.printf("reflection: %d Pings naming a victim, %d bytes in, %d bytes out to the victim (x%.2f)%n",
                    100, in, out, (double) out / in);
            assertTrue(out <= in, "amplified x" + String.format("%.2f", (double) out / in) + ": " + in
                    + " bytes of Pings naming the victim made " + out + " bytes at the victim");
        }
    }

    @Test
    void anIndirectPingMakesNoPingToANonMemberNorAReplyToAnUnknownRequester() throws Exception {
        MembershipAgent a = insecure("a", List.of());
        MembershipAgent b = insecure("b", List.of("127.0.0.1:" + a.port()));
        await("a and b see each other alive", () -> alive(a, "b") && alive(b, "a"));
        try (var victim = udp(); var evil = udp()) {
            // Ping the victim for me; then: ping b (a member) for me and tell the victim.
            send(evil, local(a.port()), new IndirectPing(1, "ghost", address(victim), true, "evil", address(evil)));
            send(evil, local(a.port()), new IndirectPing(2, "b", local(b.port()), true, "evil", address(victim)));
            marker(evil, a, "a");
            // Long enough for b's ack, or for the relay's nack at the end of a probe timeout.
            long out = drain(victim, Duration.ofMillis(1000));
            assertEquals(0, out, "a sent " + out + " bytes to an address only an IndirectPing named");
            await("a counted both refusals", () -> counter(a, "rejected_messages_total{reason=\"relay\"}") >= 2);
        }
    }

    @Test
    void aStreamNamingAnArbitraryAddressOpensNoConnectionThere() throws Exception {
        MembershipAgent a = insecure("a", List.of());
        ServerSocket victim;
        try {
            victim = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.2"));
        } catch (IOException e) {
            assumeTrue(false, "cannot bind 127.0.0.2 on this host: " + e);
            return;
        }
        open.add(victim);
        victim.setSoTimeout(1500);
        var named = new InetSocketAddress(victim.getInetAddress(), victim.getLocalPort());
        // A join (push-pull) and a stream ping, each naming the victim as where to answer.
        stream(a.port(), new PushPull(true, false, "evil", named, List.of()));
        stream(a.port(), new Ping(7, "a", "evil", named));
        try (Socket s = victim.accept()) {
            s.setSoTimeout(1500);
            long bytes = s.getInputStream().readAllBytes().length;
            fail("a opened TCP to the address a stream named, and sent " + bytes + " bytes");
        } catch (SocketTimeoutException expected) {
            // nobody came
        }
        await("a counted both refusals", () -> counter(a, "rejected_messages_total{reason=\"stream\"}") >= 2);
    }

    // ---------------------------------------------------------------- the frame flood

    @Test
    void fourHundredMaximumFramesLeaveA256MiBNodeGossiping(@TempDir Path dir) throws Exception {
        Path keyring = keyringFile(dir);
        Path log = dir.resolve("node.log");
        Process node = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"),
                GossipNodeMain.class.getName(), "flooded", keyring.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        open.add(node::destroyForcibly);
        int port = awaitPort(node, log);

        byte[] body = new byte[MembershipAgent.MAX_STREAM_BYTES - 1];
        var refused = new AtomicInteger();
        long started = System.nanoTime();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            var sent = new ArrayList<Future<?>>();
            for (int i = 0; i < 400; i++) {
                sent.add(pool.submit(() -> {
                    try (var s = new Socket()) {
                        s.connect(local(port), 5000);
                        s.setSoTimeout(5000);
                        var out = new DataOutputStream(s.getOutputStream());
                        out.writeInt(body.length);
                        out.write(body);
                        out.flush();
                        s.shutdownOutput();
                        s.getInputStream().read();
                    } catch (IOException e) {
                        refused.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : sent) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("frame flood: 400 frames of %d bytes in %.1f s, %d refused or cut%n", body.length, seconds,
                refused.get());
        assertTrue(node.isAlive(), "the node died (exit " + (node.isAlive() ? "" : node.exitValue()) + "):\n"
                + Files.readString(log));
        // A new member joins through it: it still reads, answers and gossips.
        MembershipAgent probe = start("after-flood", new GossipConfig(true, "127.0.0.1", 0, null,
                List.of("127.0.0.1:" + port), keyring, false, GossipConfig.Profile.LOOPBACK, "", "", "", 4, false, 0,
                List.of(), 1));
        await("the flooded node answers a join and is alive to the newcomer", () -> alive(probe, "flooded"));
        assertTrue(node.isAlive(), Files.readString(log));
        String output = Files.readString(log);
        assertFalse(output.contains("OutOfMemoryError"), output);
        // Refusals are logged once per interval, not once per connection, and with no stack trace.
        long refusalLines = output.lines().filter(l -> l.contains("gossip streams refused")).count();
        assertTrue(refusalLines >= 1 && refusalLines <= 2, refusalLines + " refusal lines:\n" + output);
        assertFalse(output.contains("\tat "), output);
    }

    @Test
    void oneAddressFloodingTheStreamPortLeavesRoomForAMembersJoin() throws Exception {
        InetAddress flooder = InetAddress.getByName("127.0.0.2");
        try (var s = new Socket()) {
            s.bind(new InetSocketAddress(flooder, 0));
        } catch (IOException e) {
            assumeTrue(false, "cannot bind 127.0.0.2 on this host: " + e);
        }
        MembershipAgent a = insecure("a", List.of());
        var stop = new AtomicBoolean();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            try {
                // Idle connections for every slot there is, and frames of the largest size
                // trickled a byte at a time for the whole memory budget; each reopened when cut.
                for (int i = 0; i < MembershipAgent.MAX_INCOMING_STREAMS + 8; i++) {
                    pool.submit(() -> holdStream(flooder, a.port(), false, stop));
                }
                for (int i = 0; i < MembershipAgent.STREAM_MEMORY_BYTES / MembershipAgent.MAX_STREAM_BYTES + 2; i++) {
                    pool.submit(() -> holdStream(flooder, a.port(), true, stop));
                }
                await("a refuses some of the flood", () -> refusedStreams(a) >= 1);
                // A member on another address joins through a, push-pull both ways, meanwhile.
                MembershipAgent b = insecure("b", List.of("127.0.0.1:" + a.port()));
                await(() -> "b joins through the flooded a (" + refusedStreams(a) + " streams refused)",
                        () -> alive(b, "a") && alive(a, "b"));
                System.out.printf("stream flood from one address: %.0f streams refused while b joined%n",
                        refusedStreams(a));
            } finally {
                stop.set(true);
            }
        }
    }

    private double refusedStreams(MembershipAgent node) {
        double refused = 0;
        for (String reason : List.of("stream_connections", "stream_memory", "stream_source_connections",
                "stream_source_memory")) {
            refused += counter(node, "rejected_messages_total{reason=\"" + reason + "\"}");
        }
        return refused;
    }

    /**
     * Holds a stream to {@code port} from {@code from} until {@code stop}, opening another each
     * time the node cuts it: idle, or declaring a frame of the largest size and sending a byte
     * of it every 200 ms.
     */
    private static Void holdStream(InetAddress from, int port, boolean frame, AtomicBoolean stop) {
        while (!stop.get()) {
            try (var s = new Socket()) {
                s.bind(new InetSocketAddress(from, 0));
                s.connect(local(port), 5000);
                s.setSoTimeout(200);
                var out = new DataOutputStream(s.getOutputStream());
                if (frame) {
                    out.writeInt(MembershipAgent.MAX_STREAM_BYTES);
                }
                while (!stop.get()) {
                    if (frame) {
                        out.write(0);
                        out.flush();
                    }
                    try {
                        if (s.getInputStream().read() < 0) {
                            break;
                        }
                    } catch (SocketTimeoutException stillOpen) {
                        // the node holds it: keep it so
                    }
                }
            } catch (IOException cut) {
                // refused or cut: open the next
            }
        }
        return null;
    }

    private static int awaitPort(Process node, Path log) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        Pattern line = Pattern.compile("GOSSIP_PORT (\\d+)");
        while (System.nanoTime() < deadline) {
            Matcher m = line.matcher(Files.readString(log));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            if (!node.isAlive()) {
                fail("the node exited with " + node.exitValue() + ":\n" + Files.readString(log));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no GOSSIP_PORT line within " + WAIT + ":\n" + Files.readString(log));
    }

    // ---------------------------------------------------------------- helpers

    private MembershipAgent insecure(String id, List<String> join) {
        return start(id, new GossipConfig(true, "127.0.0.1", 0, null, join, null, true, GossipConfig.Profile.LOOPBACK,
                "", "", "", 4, false, 0, List.of(), 1));
    }

    private MembershipAgent start(String id, GossipConfig config) {
        var meta = new NodeMetadata("local", "127.0.0.1", 8400, "", "", "", "READY", List.of(), 4, "test");
        var registry = new MetricRegistry();
        var agent = MembershipAgent.start(id, config, meta, () -> new LoadRecord(id, 0, 0, 0, 0, 0f), registry);
        open.add(agent);
        registries.put(agent, registry);
        return agent;
    }

    private static Path keyringFile(Path dir) throws IOException {
        Path file = dir.resolve("gossip.keyring");
        if (!Files.exists(file)) {
            Files.writeString(file, Keyring.generateKey(new SecureRandom()) + "\n");
        }
        return file;
    }

    /** A gossip counter of the LAN pool, 0 before its first increment. */
    private double counter(MembershipAgent agent, String sample) {
        String name = "gpud_gossip_lan_" + sample;
        for (String line : registries.get(agent).scrape().split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        return 0;
    }

    private static MemberView view(MembershipAgent agent, String node) {
        return agent.members().stream().filter(m -> m.node().equals(node)).findFirst().orElse(null);
    }

    private static boolean isMember(MembershipAgent agent, String node) {
        return view(agent, node) != null;
    }

    private static boolean alive(MembershipAgent agent, String node) {
        MemberView v = view(agent, node);
        return v != null && v.state() == MemberState.ALIVE;
    }

    private static InetSocketAddress local(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    private static InetSocketAddress address(DatagramSocket s) {
        return (InetSocketAddress) s.getLocalSocketAddress();
    }

    private DatagramSocket udp() throws IOException {
        return new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    private static byte[] plain(Message m) {
        return Keyring.plaintext().seal(Codec.encode(m), RANDOM);
    }

    private static DatagramPacket datagram(byte[] bytes, int port) {
        return new DatagramPacket(bytes, bytes.length, local(port));
    }

    /** Sends one plain-text message; returns its size on the wire. */
    private static int send(DatagramSocket from, InetSocketAddress to, Message m) throws IOException {
        byte[] bytes = plain(m);
        from.send(new DatagramPacket(bytes, bytes.length, to));
        return bytes.length;
    }

    /** One plain-text message over TCP, framed as members frame them. */
    private static void stream(int port, Message m) throws IOException {
        byte[] bytes = plain(m);
        try (var s = new Socket()) {
            s.connect(local(port), 5000);
            var out = new DataOutputStream(s.getOutputStream());
            out.writeInt(bytes.length);
            out.write(bytes);
        }
    }

    /**
     * Pings {@code node} from {@code evil}'s own address and waits for the answer: the node
     * handles datagrams in order, so everything sent before was handled, and answered, by then.
     */
    private static void marker(DatagramSocket evil, MembershipAgent node, String id) throws IOException {
        send(evil, local(node.port()), new Ping(Integer.MAX_VALUE, id, "evil", address(evil)));
        evil.setSoTimeout((int) WAIT.toMillis());
        byte[] buf = new byte[65_536];
        while (true) {
            var p = new DatagramPacket(buf, buf.length);
            evil.receive(p);
            if (containsAck(buf, p.getLength(), Integer.MAX_VALUE)) {
                return;
            }
        }
    }

    private static boolean containsAck(byte[] packet, int length, int seq) {
        byte[] ack = Codec.encode(new Message.Ack(seq));
        outer:
        for (int i = 0; i + ack.length <= length; i++) {
            for (int j = 0; j < ack.length; j++) {
                if (packet[i + j] != ack[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** Bytes that arrive at {@code socket} until it has been quiet for {@code quiet}. */
    private static long drain(DatagramSocket socket, Duration quiet) throws IOException {
        socket.setSoTimeout((int) quiet.toMillis());
        byte[] buf = new byte[65_536];
        long bytes = 0;
        try {
            while (true) {
                var p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                bytes += p.getLength();
            }
        } catch (SocketTimeoutException quietNow) {
            return bytes;
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(() -> what, condition);
    }

    /** Waits for {@code condition}; {@code what} describes it as things stand when the wait fails. */
    private static void await(Supplier<String> what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + WAIT.toSeconds() + " s: " + what.get());
            }
            Thread.sleep(20);
        }
    }
}
