package io.gpud.api;

import io.gpud.core.NodeState;

/**
 * What the API needs from the node that owns it: its identity and state, and the admin
 * operations. Implemented by the composition root ({@code io.gpud.node}).
 */
public interface NodeControl {

    /** This node's id, sent in the {@code x-gpud-node} header of every response. */
    String nodeId();

    /** The current lifecycle state. */
    NodeState state();

    /** A full status snapshot for {@code gpud status}. */
    NodeStatus status();

    /** READY → DRAINING (→ DRAINED once nothing is in flight). Returns the new state. */
    NodeState drain();

    /** DRAINING or DRAINED → READY. Returns the new state. */
    NodeState undrain();
}
