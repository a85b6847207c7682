package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class InboundStreamsTest {

    @Test
    void oneAddressGetsItsShareAndGivesItBack() throws Exception {
        InetAddress flooder = InetAddress.getByName("10.0.0.1");
        InetAddress member = InetAddress.getByName("10.0.0.2");
        var streams = new InboundStreams(4, 2, 100, 50);
        assertNull(streams.open(flooder));
        assertNull(streams.open(flooder));
        assertEquals("stream_source_connections", streams.open(flooder).reason());
        assertNull(streams.reserve(flooder, 50));
        assertEquals("stream_source_memory", streams.reserve(flooder, 1).reason());
        // The other address still has its room; past the total, everyone is refused.
        assertNull(streams.open(member));
        assertNull(streams.reserve(member, 50));
        assertNull(streams.open(member));
        assertEquals("stream_connections", streams.open(InetAddress.getByName("10.0.0.3")).reason());
        assertEquals("stream_memory", streams.reserve(InetAddress.getByName("10.0.0.3"), 1).reason());
        // Everything given back, the flooder has its full share again.
        streams.release(flooder, 50);
        streams.close(flooder);
        streams.close(flooder);
        assertNull(streams.reserve(flooder, 50));
        assertEquals(100, streams.reservedBytes());
        streams.release(flooder, 50);
        streams.release(member, 50);
        assertEquals(0, streams.reservedBytes());
    }
}
