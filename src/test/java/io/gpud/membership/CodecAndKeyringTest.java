package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.MembershipConfig;
import io.gpud.membership.Message.MemberEntry;
import io.gpud.metrics.MetricRegistry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CodecAndKeyringTest {

    private static final NodeMetadata META = new NodeMetadata("us-east-1", "10.0.0.7", 8400, "use1-az1",
            "subnet-1", "vpc-1", "READY", List.of(new NodeMetadata.Model("llama-3.2-1b", "gguf/F16")), 8, "1.0");

    static List<Message> samples() {
        var a = SimNetwork.address(5);
        return List.of(
                new Message.Ping(7, "b", "a", a),
                new Message.IndirectPing(8, "c", SimNetwork.address(6), true, "a", a),
                new Message.Ack(9),
                new Message.Nack(10),
                new Message.Alive(3, "a", a, META.encode()),
                new Message.Suspect(4, "b", "a"),
                new Message.Dead(5, "b", "b"),
                new Message.Load(new LoadRecord("a", 11, 1_700_000_000_000L, 2, 3, 41.5f)),
                new Message.PushPull(true, false, "a", a,
                        List.of(new MemberEntry("a", a, 3, MemberState.SUSPECT, META.encode()))),
                new Message.Compound(List.of(new Message.Ack(1), new Message.Suspect(2, "x", "y"))),
                new Message.Summary("eu-west-1", "a", a, 12, 180, 1440, List.of(new RegionSummary.ModelHosts(
                        "llama-3.2-1b", List.of(new RegionSummary.Host("b", "10.0.0.8:8400", 0, 2, 8),
                                new RegionSummary.Host("c", "10.0.0.9:8400", 1, 8, 8))))),
                new Message.KeyOp(13, Message.KeyOp.Operation.USE, "AAAA"));
    }

    @Test
    void everyMessageRoundTrips() {
        for (Message m : samples()) {
            byte[] bytes = Codec.encode(m);
            assertArrayEquals(bytes, Codec.encode(Codec.decode(bytes)), m.toString());
        }
        assertEquals(META, NodeMetadata.decode(META.encode()));
        byte[] load = Codec.encode(samples().get(7));
        assertTrue(load.length <= 64, "a load record is " + load.length + " bytes");
    }

    @Test
    void aCompoundOfEncodedPartsIsTheCompoundOfTheMessages() {
        List<Message> parts = samples().stream().filter(m -> !(m instanceof Message.Compound)).toList();
        byte[] expected = Codec.encode(new Message.Compound(parts));
        assertArrayEquals(expected, Codec.encodeCompound(parts.stream().map(Codec::encode).toList()));
    }

    @Test
    void decodedNodeIdsAreSharedAndNonAsciiIdsStillDecode() {
        var a = SimNetwork.address(5);
        byte[] ascii = Codec.encode(new Message.Suspect(4, "node-7", "node-8"));
        var first = (Message.Suspect) Codec.decode(ascii);
        var second = (Message.Suspect) Codec.decode(ascii);
        assertEquals("node-7", first.node());
        assertTrue(first.node() == second.node(), "the same id decodes to the same instance");
        byte[] accented = Codec.encode(new Message.Ping(1, "nœud-ü", "nœud-é", a));
        var ping = (Message.Ping) Codec.decode(accented);
        assertEquals("nœud-ü", ping.target());
        assertEquals("nœud-é", ping.source());
        assertEquals(a, ping.sourceAddress());
        assertTrue(ping.sourceAddress() == ((Message.Ping) Codec.decode(accented)).sourceAddress(),
                "the same IPv4 address decodes to the same instance");
    }

    @Test
    void everyTruncationIsRefusedWithAReason() {
        for (Message m : samples()) {
            byte[] bytes = Codec.encode(m);
            for (int len = 0; len < bytes.length; len++) {
                byte[] cut = Arrays.copyOf(bytes, len);
                assertThrows(WireFormatException.class, () -> Codec.decode(cut), m + " cut at " + len);
            }
            byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
            assertThrows(WireFormatException.class, () -> Codec.decode(longer));
        }
    }

    @Test
    void keyringSealsOpensAndRotates() {
        var random = new SplittableRandom(1);
        String k1 = Keyring.generateKey(random);
        String k2 = Keyring.generateKey(random);
        Keyring old = Keyring.of(List.of(k1));
        byte[] sealed = old.seal("hello".getBytes(), random);
        assertEquals(1 + 12 + 5 + 16, sealed.length);
        assertArrayEquals("hello".getBytes(), old.open(sealed));

        Keyring installed = old.install(k2);
        assertArrayEquals("hello".getBytes(), installed.open(sealed), "the old key still opens");
        Keyring using = installed.use(k2);
        assertEquals(List.of(k2, k1), using.keys());
        byte[] underNew = using.seal("x".getBytes(), random);
        assertArrayEquals("x".getBytes(), installed.open(underNew), "a node that only installed opens it");
        assertNull(old.open(underNew), "a node without the key does not");
        Keyring removed = using.remove(k1);
        assertNull(removed.open(sealed));
        assertThrows(IllegalArgumentException.class, () -> using.remove(k2), "the primary cannot be removed");
        assertThrows(IllegalArgumentException.class, () -> old.use(k2), "use needs install first");
        assertThrows(IllegalArgumentException.class, () -> Keyring.of(List.of("c2hvcnQ=")));

        byte[] tampered = sealed.clone();
        tampered[20] ^= 1;
        assertNull(old.open(tampered));
        assertNull(old.open(Keyring.plaintext().seal("p".getBytes(), random)), "a keyed ring refuses plaintext");
        assertNull(Keyring.plaintext().open(sealed), "a plaintext ring refuses sealed packets");
        assertNull(old.open(new byte[0]));
    }

    @Test
    void badPacketsAreCountedAndDropped() {
        var registry = new MetricRegistry();
        var metrics = new MembershipMetrics(registry, "test");
        var sent = new ArrayList<byte[]>();
        Transport capture = new Transport() {
            @Override
            public void sendPacket(java.net.InetSocketAddress to, byte[] packet) {
                sent.add(packet);
            }

            @Override
            public void sendStream(java.net.InetSocketAddress to, byte[] frame) {
                sent.add(frame);
            }
        };
        var random = new SplittableRandom(2);
        Keyring ring = Keyring.of(List.of(Keyring.generateKey(random)));
        var p = new SwimProtocol("a", SimNetwork.address(0), META, MembershipConfig.lan(), ring, capture, random,
                metrics, List.of(), null, 0);
        p.onPacket(SimNetwork.address(1), new byte[] {1, 2, 3}, 1);
        p.onPacket(SimNetwork.address(1), Keyring.of(List.of(Keyring.generateKey(random))).seal(new byte[] {3, 0, 0, 0, 1}, random), 1);
        p.onPacket(SimNetwork.address(1), ring.seal(new byte[] {99}, random), 1);
        p.onPacket(SimNetwork.address(1), ring.seal(Codec.encode(new Message.Ping(1, "a", "b", SimNetwork.address(1))), random), 1);
        assertEquals(2, metrics.packetsDropped.value("decrypt"));
        assertEquals(1, metrics.packetsDropped.value("parse"));
        assertEquals(1, sent.size(), "the valid ping was answered");
        assertNotNull(ring.open(sent.getFirst()), "the ack is sealed with the ring");
        assertTrue(registry.scrape().contains("gpud_gossip_test_dropped_packets_total{reason=\"decrypt\"} 2"),
                registry.scrape());
    }

    @Test
    void oversizedMetadataIsRefused() {
        var big = new NodeMetadata("r", "h", 1, "", "", "", "READY",
                java.util.stream.IntStream.range(0, 40).mapToObj(i -> new NodeMetadata.Model("model-" + i + "-".repeat(20), "v"))
                        .toList(), 1, "v");
        assertThrows(IllegalArgumentException.class, () -> new SwimProtocol("a", SimNetwork.address(0), big,
                MembershipConfig.lan(), Keyring.plaintext(), null, new SplittableRandom(1),
                new MembershipMetrics(new MetricRegistry(), "x"), List.of(), null, 0));
    }
}
