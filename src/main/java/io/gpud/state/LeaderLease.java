package io.gpud.state;

import io.gpud.core.MonotonicClock;
import io.gpud.core.Ticks;
import io.gpud.scaling.Leadership;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's contention for the lease of one region's pool: at most one leader per region
 * per pool, with an epoch that fences every action it takes.
 *
 * <h2>The item</h2>
 * A lease is one item ({@link LeaseRecord}): holder, epoch, version. Taking it is a
 * conditional write "version is still what I saw" that sets the holder and adds one to
 * both epoch and version; renewing is a conditional write "holder and epoch are still
 * mine" that adds one to the version. Conditional writes on one item are linearizable
 * within one region of DynamoDB (and under the lock of {@link EmbeddedStateStore}), so
 * two contenders can never both take the lease from the same version: each epoch has
 * exactly one holder, ever.
 *
 * <h2>Time without shared clocks</h2>
 * Nothing compares wall clocks across hosts. The leader renews every
 * {@code renewEvery}; a contender reads the item every {@code renewEvery / 2}, notes on its
 * own monotonic clock when it first saw the current version, and once that version has
 * gone unchanged for {@code leaseDuration} it takes the lease from that version. Skew
 * between hosts' wall clocks therefore plays no part, only the rate at which their timers
 * run, and the leader allows for that: it believes in its lease only until
 * {@code 0.9 × leaseDuration} after it <em>sent</em> the renewal that succeeded, while a
 * contender waits a whole {@code leaseDuration} from <em>after</em> it saw that renewal.
 * With timers within 5% of each other the two beliefs never overlap.
 *
 * <h2>Fencing</h2>
 * Belief is not enough: a leader can stop between deciding and acting (a GC pause, a
 * stalled VM) and act after its lease has moved on. So every action is itself a
 * conditional write under the epoch ({@code ScalingState.recordDecision}: the lease item
 * must still show this holder at this epoch, in the same transaction), and an action with
 * a stale epoch is refused by the store, whatever its author believes.
 *
 * <h2>Failover</h2>
 * A leader that dies renewed at most {@code renewEvery} before; the others see that
 * renewal within {@code renewEvery / 2} and take over {@code leaseDuration} later: at most
 * {@code leaseDuration + renewEvery / 2} (22.5 s at 20 s / 5 s) after the death, plus timer
 * drift. A leader that stops cleanly releases the lease and the next poll takes it.
 *
 * <h2>Threads</h2>
 * {@link #poll()} is the one writer: one step of the protocol, returning when to call it
 * again. {@link #run()} loops over it on a thread of its own; the simulator calls it on
 * simulated time. {@link #epoch()} reads an immutable snapshot through a volatile field.
 */
public final class LeaderLease implements Leadership, Runnable, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaderLease.class);

    /** What this node holds: the item as last written, and until when (local nanos) it trusts it. */
    private record Held(LeaseRecord lease, long trustedUntilNanos) {
    }

    private final StateStore store;
    private final String region;
    private final String pool;
    private final String holder;
    private final long leaseNanos;
    private final long renewNanos;
    private final long trustNanos;
    private final MonotonicClock clock;
    private final InstantSource wall;
    private final Ticks ticks = new Ticks();
    private volatile Held held;
    private long observedVersion = -1;
    private long observedSinceNanos;

    public LeaderLease(StateStore store, String region, String pool, String holder, Duration leaseDuration,
            Duration renewEvery, MonotonicClock clock, InstantSource wall) {
        if (renewEvery.multipliedBy(2).compareTo(leaseDuration) > 0) {
            throw new IllegalArgumentException("renewEvery " + renewEvery + " must be at most half of leaseDuration "
                    + leaseDuration);
        }
        this.store = store;
        this.region = region;
        this.pool = pool;
        this.holder = holder;
        this.leaseNanos = leaseDuration.toNanos();
        this.renewNanos = renewEvery.toNanos();
        this.trustNanos = leaseNanos - leaseNanos / 10;
        this.clock = clock;
        this.wall = wall;
    }

    @Override
    public String holder() {
        return holder;
    }

    public String pool() {
        return pool;
    }

    @Override
    public OptionalLong epoch() {
        Held h = held;
        if (h == null || clock.nanos() - h.trustedUntilNanos() >= 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(h.lease().epoch());
    }

    /** The lease as this node last wrote it, while it believes it leads. */
    public Optional<LeaseRecord> held() {
        return epoch().isPresent() ? Optional.ofNullable(held).map(Held::lease) : Optional.empty();
    }

    /**
     * One step: renew what is held, or look at the item and take it if it is free or has
     * gone unrenewed for a lease duration. Returns the nanoseconds until the next step.
     */
    public long poll() {
        long now = clock.nanos();
        Held h = held;
        if (h != null) {
            if (now - h.trustedUntilNanos() >= 0) {
                held = null;
                log.warn("lease {} at epoch {}: not renewed in time, no longer leading", key(), h.lease().epoch());
            } else if (store.renew(h.lease(), wall.instant()) instanceof LeaseWrite.Won won) {
                held = new Held(won.lease(), now + trustNanos);
                observe(won.lease().version(), now);
                return renewNanos;
            } else {
                held = null;
                log.warn("lease {} at epoch {}: taken over, no longer leading", key(), h.lease().epoch());
            }
        }
        Optional<LeaseRecord> current = store.lease(region, pool);
        long seen = clock.nanos();
        if (current.isEmpty()) {
            return take(now, OptionalLong.empty());
        }
        LeaseRecord c = current.get();
        if (c.released() || c.holder().equals(holder)) {
            return take(now, OptionalLong.of(c.version()));
        }
        if (c.version() != observedVersion) {
            observe(c.version(), seen);
        } else if (seen - observedSinceNanos >= leaseNanos) {
            return take(now, OptionalLong.of(c.version()));
        }
        return Math.max(0, Math.min(renewNanos / 2, observedSinceNanos + leaseNanos - seen));
    }

    private long take(long now, OptionalLong expectedVersion) {
        if (store.acquire(region, pool, holder, expectedVersion, wall.instant()) instanceof LeaseWrite.Won won) {
            held = new Held(won.lease(), now + trustNanos);
            observe(won.lease().version(), now);
            log.info("lease {}: leading at epoch {}", key(), won.lease().epoch());
            return renewNanos;
        }
        observedVersion = -1;
        return renewNanos / 2;
    }

    private void observe(long version, long at) {
        observedVersion = version;
        observedSinceNanos = at;
    }

    private String key() {
        return LeaseRecord.key(region, pool);
    }

    /** Polls until closed; a store failure is logged and retried after half a renewal period. */
    @Override
    public void run() {
        while (true) {
            long delay;
            try {
                delay = poll();
            } catch (StateException e) {
                log.warn("lease {}: {}", key(), e.getMessage());
                delay = renewNanos / 2;
            }
            if (!ticks.await(Duration.ofNanos(delay))) {
                return;
            }
        }
    }

    /** Stops {@link #run()} and releases the lease if held, so another node can take it at once. */
    @Override
    public void close() {
        ticks.close();
        Held h = held;
        held = null;
        if (h != null) {
            try {
                store.release(h.lease(), wall.instant());
                log.info("lease {}: released at epoch {}", key(), h.lease().epoch());
            } catch (StateException e) {
                log.warn("lease {}: could not release: {}", key(), e.getMessage());
            }
        }
    }
}
