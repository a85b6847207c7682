package io.gpud.api;

import io.gpud.core.NodeState;

/** What every request needs from the node that serves it: who answers, and whether it takes work. */
public interface NodeView {

    /** This node's id, sent in the {@code x-gpud-node} header of every response. */
    String nodeId();

    /** The current lifecycle state. */
    NodeState state();
}
