package io.gpud.inference.sim;

import io.gpud.core.Time;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock whose sleeps advance it at once and are recorded; {@link #hold()} makes each sleep
 * wait for {@link #step()}, so a test can act while the engine is in the middle of a step.
 */
final class FakeTime implements Time {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final List<Long> sleeps = new CopyOnWriteArrayList<>();
    private final Semaphore sleeping = new Semaphore(0);
    private volatile Semaphore gate;

    @Override
    public long nanos() {
        return nanos.get();
    }

    @Override
    public Instant instant() {
        return Instant.EPOCH.plusNanos(nanos.get());
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        sleeps.add(duration.toNanos());
        Semaphore held = gate;
        if (held != null) {
            sleeping.release();
            held.acquire();
        }
        nanos.addAndGet(duration.toNanos());
    }

    /** The sleeps so far, in nanoseconds. */
    List<Long> sleeps() {
        return List.copyOf(sleeps);
    }

    /** From now on each sleep waits for {@link #step()}. */
    void hold() {
        gate = new Semaphore(0);
    }

    /** Waits until a sleep is waiting (one sleep per call). */
    void awaitSleeping() throws InterruptedException {
        if (!sleeping.tryAcquire(30, TimeUnit.SECONDS)) {
            throw new AssertionError("the engine never started a step");
        }
    }

    /** Lets one held sleep end. */
    void step() {
        gate.release();
    }

    /** Sleeps end at once again; the held one too. */
    void run() {
        Semaphore held = gate;
        gate = null;
        held.release(Integer.MAX_VALUE / 2);
    }
}
