package io.gpud.membership;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a region's summary tells other regions about where its hosts take forwarded requests. */
class RegionBridgesTest {

    private static MemberView member(String node, int dataPort, int peerPort) {
        var meta = new NodeMetadata("east", "10.0.0." + node.charAt(1), dataPort, "az1", "", "", "READY",
                List.of(new NodeMetadata.Model("m", "1")), 4, "test", peerPort);
        return new MemberView(node, new InetSocketAddress("127.0.0.1", 7946), MemberState.ALIVE, 1, meta, null, null,
                null);
    }

    private static List<String> hosts(boolean peerTls) {
        List<MemberView> table = List.of(member("e1", 8400, 8401), member("e2", 8400, 0));
        Message.Summary s = RegionBridges.summarize(table, "east", "e1", null, peerTls,
                new InetSocketAddress("127.0.0.1", 7947), 1, 1400);
        return s.models().getFirst().hosts().stream().map(h -> h.nodeId() + "@" + h.dataAddress()).sorted().toList();
    }

    @Test
    void withPeerTlsOnlyHostsWithAPeerListenerAreListedAtItsPort() {
        assertEquals(List.of("e1@10.0.0.1:8401"), hosts(true),
                "a host without a peer listener, listed at its data port, would be sent TLS on a plain port");
    }

    @Test
    void withoutPeerTlsEveryHostIsListedAtItsDataPort() {
        assertEquals(List.of("e1@10.0.0.1:8400", "e2@10.0.0.2:8400"), hosts(false),
                "plain HTTP goes to the data port, never to a peer listener");
    }
}
