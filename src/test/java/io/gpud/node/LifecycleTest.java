package io.gpud.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.core.NodeState;
import io.gpud.core.Time;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LifecycleTest {

    @Test
    void followsTheStateMachine() {
        var l = new Lifecycle(Time.system());
        assertEquals(NodeState.STARTING, l.state());
        assertEquals(NodeState.STARTING, l.undrain(), "undrain does not skip start-up");
        assertEquals(NodeState.STARTING, l.drained(), "only DRAINING becomes DRAINED");
        assertEquals(NodeState.READY, l.ready());
        assertEquals(NodeState.READY, l.drained());
        assertEquals(NodeState.DRAINING, l.drain());
        assertEquals(NodeState.DRAINING, l.drain(), "draining twice is not an error");
        assertEquals(NodeState.READY, l.undrain());
        assertEquals(NodeState.DRAINING, l.drain());
        assertEquals(NodeState.DRAINED, l.drained());
        assertEquals(NodeState.DRAINED, l.drain());
        assertEquals(NodeState.READY, l.undrain());
    }

    @Test
    void nothingLeavesQuarantine() {
        var l = new Lifecycle(Time.system());
        l.ready();
        assertEquals(NodeState.QUARANTINED, l.quarantine());
        assertEquals(NodeState.QUARANTINED, l.undrain());
        assertEquals(NodeState.QUARANTINED, l.drain());
        assertEquals(NodeState.QUARANTINED, l.ready());
        assertFalse(l.state().acceptsWork());
    }

    @Test
    void awaitWakesOnTransition() throws Exception {
        var l = new Lifecycle(Time.system());
        l.ready();
        l.drain();
        Thread.ofVirtual().start(l::drained);
        assertTrue(l.await(NodeState.DRAINED, Duration.ofSeconds(10).toNanos()));
        assertFalse(l.await(NodeState.READY, Duration.ofMillis(20).toNanos()));
    }
}
