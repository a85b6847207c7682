package io.gpud.node;

import io.gpud.core.MonotonicClock;
import io.gpud.core.NodeState;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The node state machine: STARTING → READY ⇄ DRAINING → DRAINED, any → QUARANTINED.
 *
 * <p>Transitions are synchronized and wake waiters; a request for a transition that does
 * not apply leaves the state as it is and returns it (draining a drained node is not an
 * error). Nothing leaves QUARANTINED.
 */
final class Lifecycle {
    private final MonotonicClock clock;
    private final List<Runnable> observers = new CopyOnWriteArrayList<>();
    private NodeState state = NodeState.STARTING;

    /** A state machine whose waits read {@code clock}. */
    Lifecycle(MonotonicClock clock) {
        this.clock = clock;
    }

    synchronized NodeState state() {
        return state;
    }

    /**
     * Runs {@code observer} after every change of state, on the thread that made it, outside
     * the lock. It reads {@link #state()} itself: changes on two threads may tell their
     * observers in either order, and the last to run reads the last state.
     */
    void onChange(Runnable observer) {
        observers.add(observer);
    }

    /** STARTING → READY, once start-up finished. */
    NodeState ready() {
        return move(s -> s == NodeState.STARTING, NodeState.READY);
    }

    /** STARTING or READY → DRAINING. */
    NodeState drain() {
        return move(s -> s == NodeState.STARTING || s == NodeState.READY, NodeState.DRAINING);
    }

    /** DRAINING or DRAINED → READY. */
    NodeState undrain() {
        return move(s -> s == NodeState.DRAINING || s == NodeState.DRAINED, NodeState.READY);
    }

    /** DRAINING → DRAINED, once nothing is in flight. */
    NodeState drained() {
        return move(s -> s == NodeState.DRAINING, NodeState.DRAINED);
    }

    /** Any → QUARANTINED. */
    NodeState quarantine() {
        return move(s -> true, NodeState.QUARANTINED);
    }

    /** Waits until the state is {@code target}; false if {@code timeoutNanos} passed first. */
    synchronized boolean await(NodeState target, long timeoutNanos) throws InterruptedException {
        long deadline = clock.nanos() + timeoutNanos;
        while (state != target) {
            long left = deadline - clock.nanos();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /** A state {@code allowed} accepts → {@code next} (nothing leaves QUARANTINED); tells the observers when it moved. */
    private NodeState move(Predicate<NodeState> allowed, NodeState next) {
        NodeState now;
        synchronized (this) {
            if (!allowed.test(state) || state == next || state == NodeState.QUARANTINED) {
                return state;
            }
            state = next;
            now = state;
            notifyAll();
        }
        observers.forEach(Runnable::run);
        return now;
    }
}
