package io.gpud.scaling;

import java.time.Instant;
import java.util.List;
import java.util.OptionalInt;

/**
 * What the autoscaler reads from and writes to the cluster's shared state; implemented by
 * the state store, which sits above this package.
 */
public interface ScalingState {

    /** The nodes of {@code region} whose registry items have not expired at {@code now}. */
    List<NodeLoad> liveNodes(String region, Instant now);

    /** The desired capacity last recorded for the pool, if any. */
    OptionalInt lastDesired(String region, String pool);

    /**
     * Records a decision, fenced: it is written only if {@code holder} still holds the
     * pool's lease at {@code epoch} at the moment of the write, and no decision of a later
     * epoch has been recorded.
     */
    RecordOutcome recordDecision(String region, String pool, String holder, long epoch, int desired, String reason,
            Instant at);

    /** Whether a fenced write went through. */
    sealed interface RecordOutcome permits Recorded, Fenced {
    }

    /** Written under the lease. */
    record Recorded(long epoch) implements RecordOutcome {
    }

    /** Refused: the lease has moved on (or a later epoch already decided). */
    record Fenced(String why) implements RecordOutcome {
    }
}
