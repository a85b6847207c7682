package io.gpud.scaling;

import java.time.Duration;

/** What the termination watcher drains: the node, which implements it. */
public interface DrainTarget {

    /** Stops taking new work (idempotent); {@code why} is logged. */
    void beginDrain(String why);

    /** Waits up to {@code timeout} for nothing to be in flight; whether it got there. */
    boolean awaitDrained(Duration timeout) throws InterruptedException;
}
