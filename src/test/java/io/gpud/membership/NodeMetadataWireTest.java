package io.gpud.membership;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The peer port in the metadata's wire form, and the form of nodes that gossip none. */
class NodeMetadataWireTest {

    private static final NodeMetadata WITH_PEERS = new NodeMetadata("us-east-1", "10.0.0.7", 8400, "use1-az1", "",
            "", "READY", List.of(new NodeMetadata.Model("m", "v1")), 8, "1.2.3", 8401);

    @Test
    void thePeerPortRoundTrips() {
        NodeMetadata decoded = NodeMetadata.decode(WITH_PEERS.encode());
        assertEquals(WITH_PEERS, decoded);
        assertEquals(8401, decoded.peerPort());
    }

    @Test
    void theFormWithoutAPeerPortDecodesAsNoPeerListener() {
        byte[] bytes = WITH_PEERS.encode();
        byte[] older = Arrays.copyOf(bytes, bytes.length - 2);
        NodeMetadata decoded = NodeMetadata.decode(older);
        assertEquals(0, decoded.peerPort());
        assertEquals(8400, decoded.dataPort());
        assertEquals(WITH_PEERS.softwareVersion(), decoded.softwareVersion());
    }

    @Test
    void aCutPeerPortOrTrailingBytesAreRefused() {
        byte[] bytes = WITH_PEERS.encode();
        assertThrows(WireFormatException.class, () -> NodeMetadata.decode(Arrays.copyOf(bytes, bytes.length - 1)));
        assertThrows(WireFormatException.class, () -> NodeMetadata.decode(Arrays.copyOf(bytes, bytes.length + 1)));
    }
}
