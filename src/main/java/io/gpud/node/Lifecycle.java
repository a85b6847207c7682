package io.gpud.node;

import io.gpud.core.NodeState;
import java.util.concurrent.TimeUnit;

/**
 * The node state machine: STARTING → READY ⇄ DRAINING → DRAINED, any → QUARANTINED.
 *
 * <p>Transitions are synchronized and wake waiters; a request for a transition that does
 * not apply leaves the state as it is and returns it (draining a drained node is not an
 * error). Nothing leaves QUARANTINED.
 */
final class Lifecycle {
    private NodeState state = NodeState.STARTING;

    synchronized NodeState state() {
        return state;
    }

    /** STARTING → READY, once start-up finished. */
    synchronized NodeState ready() {
        return moveIf(state == NodeState.STARTING, NodeState.READY);
    }

    /** STARTING or READY → DRAINING. */
    synchronized NodeState drain() {
        return moveIf(state == NodeState.STARTING || state == NodeState.READY, NodeState.DRAINING);
    }

    /** DRAINING or DRAINED → READY. */
    synchronized NodeState undrain() {
        return moveIf(state == NodeState.DRAINING || state == NodeState.DRAINED, NodeState.READY);
    }

    /** DRAINING → DRAINED, once nothing is in flight. */
    synchronized NodeState drained() {
        return moveIf(state == NodeState.DRAINING, NodeState.DRAINED);
    }

    /** Any → QUARANTINED. */
    synchronized NodeState quarantine() {
        return moveIf(true, NodeState.QUARANTINED);
    }

    /** Waits until the state is {@code target}; false if {@code timeoutNanos} passed first. */
    synchronized boolean await(NodeState target, long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (state != target) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    private NodeState moveIf(boolean allowed, NodeState next) {
        if (allowed && state != next && state != NodeState.QUARANTINED) {
            state = next;
            notifyAll();
        }
        return state;
    }
}
