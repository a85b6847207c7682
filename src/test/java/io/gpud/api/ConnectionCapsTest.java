package io.gpud.api;

import io.gpud.core.GpudException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The listeners' connection caps against the descriptor limit: the peer listener gets a small
 * cap of its own, counted before the half kept free for forwards, never a second data plane.
 */
class ConnectionCapsTest {

    @Test
    void withoutAPeerListenerTheDataPlaneKeepsItsCap() {
        assertEquals(new ApiServer.Caps(1024, 0), ApiServer.connectionCaps(1024, false, 1 << 20, 100));
        // 4096 - 100 - 192 = 3804 free; half stays for forwards
        assertEquals(new ApiServer.Caps(1902, 0), ApiServer.connectionCaps(4096, false, 4096, 100));
    }

    @Test
    void thePeerListenerGetsAtMost256AndAQuarterOfTheFreeDescriptors() {
        assertEquals(new ApiServer.Caps(1024, 256), ApiServer.connectionCaps(1024, true, 1 << 20, 100));
        assertEquals(new ApiServer.Caps(8, 8), ApiServer.connectionCaps(8, true, 1 << 20, 100));
        // 1292 - 100 - 192 = 1000 free: 250 for peers, (1000 - 250) / 2 = 375 for the data plane
        assertEquals(new ApiServer.Caps(375, 250), ApiServer.connectionCaps(1024, true, 1292, 100));
    }

    @Test
    void thePeerAndDataCapsTogetherLeaveHalfOfTheRestForOutboundForwards() {
        long limit = 4096;
        long open = 100;
        ApiServer.Caps caps = ApiServer.connectionCaps(100_000, true, limit, open);
        long free = limit - open - 192;
        assertTrue(caps.peers() + 2L * caps.data() <= free,
                "peer cap " + caps.peers() + " + data cap " + caps.data() + " leave too little of " + free);
    }

    @Test
    void tooFewDescriptorsForEitherListenerRefusesToStart() {
        var e = assertThrows(GpudException.class, () -> ApiServer.connectionCaps(1024, true, 330, 100));
        assertTrue(e.getMessage().contains("at least 340"), e.getMessage());
    }
}
