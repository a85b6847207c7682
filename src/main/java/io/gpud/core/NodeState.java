package io.gpud.core;

/**
 * Lifecycle of a node. STARTING → READY ⇄ DRAINING → DRAINED; any state → QUARANTINED.
 *
 * <p>Only READY accepts new work. DRAINING finishes what is in flight and refuses new
 * requests; DRAINED has nothing in flight. QUARANTINED never serves again until an
 * operator intervenes.
 */
public enum NodeState {
    STARTING,
    READY,
    DRAINING,
    DRAINED,
    QUARANTINED;

    /** Whether new requests may be admitted in this state. */
    public boolean acceptsWork() {
        return this == READY;
    }
}
