package io.gpud.scaling;

import java.util.OptionalLong;

/**
 * This node's view of one pool's leader lease, implemented by the state store's lease
 * keeper.
 */
public interface Leadership {

    /** The name this node holds leases under. */
    String holder();

    /**
     * The lease epoch while this node believes it leads, empty otherwise. The belief can be
     * stale by the time it is used (a pause); every action is therefore fenced by the epoch
     * in the store ({@link ScalingState#recordDecision}).
     */
    OptionalLong epoch();
}
