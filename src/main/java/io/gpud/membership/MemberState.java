package io.gpud.membership;

/** A member's state as one node sees it. */
public enum MemberState {
    /** Answering probes, or refuted the last suspicion. */
    ALIVE,
    /** Missed a probe; declared dead unless it refutes before the suspicion timeout. */
    SUSPECT,
    /** Did not refute in time (or crashed): no longer a member. */
    DEAD,
    /** Said goodbye: a graceful leave. */
    LEFT;

    /** The name {@code gpud status} prints: alive, suspect, dead or left. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
