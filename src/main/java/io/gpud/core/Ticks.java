package io.gpud.core;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/** The wait between steps of a loop, cut short by {@link #close()}. */
public final class Ticks implements AutoCloseable {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private boolean closed;

    /** Waits {@code d}; false once closed (or interrupted). */
    public boolean await(Duration d) {
        lock.lock();
        try {
            long left = d.toNanos();
            while (!closed && left > 0) {
                left = wake.awaitNanos(left);
            }
            return !closed;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    public boolean closed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
