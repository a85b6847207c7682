package io.gpud.state;

import io.gpud.core.MonotonicClock;
import io.gpud.scaling.ScalingState;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * One seeded race for one region's pool lease, on simulated time, against a real store.
 *
 * <p>Two to four contenders run {@link LeaderLease} on timers that drift up to ±2% from
 * true time and wall clocks skewed up to ±60 s, starting up to 5 s apart. Whoever believes
 * it leads tries an action every second, and sometimes stalls (a GC pause, a stalled VM)
 * for up to 40 s between deciding and acting, during which it does nothing else either.
 * Between 20 and 40 s of true time (later if another contender is stalled then) the
 * current lease holder crashes without releasing. The race ends 30 s after a new leader
 * has taken over, or at 150 s.
 *
 * <p>Checked after every event: at most one contender believes it leads; every action the
 * store accepted was taken under an epoch that only that contender ever held, in epoch
 * order. Measured: true time from the crash to the next leader.
 */
final class LeaseRaceSimulation {

    static final Duration LEASE = Duration.ofSeconds(20);
    static final Duration RENEW = Duration.ofSeconds(5);
    private static final long SECOND = 1_000_000_000L;

    /** What one race showed. */
    record Result(long seed, int contenders, long actionsAccepted, long actionsFenced, long failoverNanos,
            List<String> violations) {
    }

    private final class Contender {
        final String name;
        final double rate;
        final long skewNanos;
        final LeaderLease lease;
        boolean crashed;
        long pausedUntil = Long.MIN_VALUE;

        Contender(String name, double rate, long skewNanos) {
            this.name = name;
            this.rate = rate;
            this.skewNanos = skewNanos;
            MonotonicClock clock = () -> (long) (now * rate);
            InstantSource wall = () -> BASE.plusNanos(now + skewNanos);
            this.lease = new LeaderLease(store, REGION, pool, name, LEASE, RENEW, clock, wall);
        }

        boolean active() {
            return !crashed && now >= pausedUntil;
        }
    }

    private record Event(long at, long seq, Runnable action) {
    }

    private static final Instant BASE = Instant.parse("2026-01-01T00:00:00Z");
    private static final String REGION = "sim-region";

    private final StateStore store;
    private final String pool;
    private final long seed;
    private final SplittableRandom random;
    private final PriorityQueue<Event> events = new PriorityQueue<>(
            (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private final List<Contender> contenders = new ArrayList<>();
    private final Map<Long, String> epochOwners = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    private long now;
    private long seq;
    private long lastAcceptedEpoch;
    private long accepted;
    private long fenced;
    private long crashAt = -1;
    private long crashedEpoch = -1;
    private long failoverAt = -1;

    LeaseRaceSimulation(StateStore store, String pool, long seed) {
        this.store = store;
        this.pool = pool;
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    Result run() {
        int n = 2 + random.nextInt(3);
        for (int i = 0; i < n; i++) {
            var c = new Contender("node-" + i, 1 + (random.nextDouble() * 0.04 - 0.02),
                    (long) ((random.nextDouble() * 120 - 60) * SECOND));
            contenders.add(c);
            long start = (long) (random.nextDouble() * 5 * SECOND);
            schedule(start, () -> poll(c));
            schedule(start + SECOND, () -> act(c));
        }
        long crashTime = (20 + random.nextInt(21)) * SECOND;
        schedule(crashTime, this::crashLeader);
        long end = 150 * SECOND;
        while (!events.isEmpty()) {
            Event e = events.poll();
            if (e.at > end || (failoverAt >= 0 && e.at > failoverAt + 30 * SECOND)) {
                break;
            }
            now = e.at;
            e.action.run();
            checkBeliefs();
        }
        if (crashAt >= 0 && failoverAt < 0) {
            violations.add("no new leader by " + end / SECOND + " s after the crash at " + crashAt / SECOND + " s");
        }
        return new Result(seed, n, accepted, fenced, failoverAt < 0 ? -1 : failoverAt - crashAt, violations);
    }

    private void schedule(long at, Runnable action) {
        events.add(new Event(at, seq++, action));
    }

    private void poll(Contender c) {
        if (c.crashed) {
            return;
        }
        if (now < c.pausedUntil) {
            schedule(c.pausedUntil, () -> poll(c));
            return;
        }
        long localDelay = c.lease.poll();
        noteFailover();
        schedule(now + Math.max(1, (long) (localDelay / c.rate)), () -> poll(c));
    }

    /** Every second: a contender that believes it leads decides, maybe stalls, then acts under its epoch. */
    private void act(Contender c) {
        if (c.crashed) {
            return;
        }
        if (now < c.pausedUntil) {
            schedule(c.pausedUntil, () -> act(c));
            return;
        }
        OptionalLong epoch = c.lease.epoch();
        if (epoch.isPresent()) {
            long pause = random.nextInt(20) == 0 ? (long) (random.nextDouble() * 40 * SECOND) : 0;
            c.pausedUntil = now + pause;
            schedule(now + pause, () -> commit(c, epoch.getAsLong()));
            schedule(now + pause + SECOND, () -> act(c));
        } else {
            schedule(now + SECOND, () -> act(c));
        }
    }

    private void commit(Contender c, long epoch) {
        if (c.crashed) {
            return;
        }
        var outcome = store.recordDecision(REGION, pool, c.name, epoch, 1, "sim", BASE.plusNanos(now));
        if (outcome instanceof ScalingState.Recorded) {
            accepted++;
            String owner = epochOwners.putIfAbsent(epoch, c.name);
            if (owner != null && !owner.equals(c.name)) {
                violations.add("epoch " + epoch + " acted on by " + owner + " and " + c.name + " at " + now);
            }
            if (epoch < lastAcceptedEpoch) {
                violations.add("epoch " + epoch + " accepted after epoch " + lastAcceptedEpoch + " at " + now);
            }
            lastAcceptedEpoch = Math.max(lastAcceptedEpoch, epoch);
            LeaseRecord lease = store.lease(REGION, pool).orElseThrow();
            if (lease.epoch() != epoch || !lease.holder().equals(c.name)) {
                violations.add("action of " + c.name + " at epoch " + epoch + " accepted while the lease is " + lease);
            }
        } else {
            fenced++;
        }
    }

    /** Crashes the lease holder once the others all run: failover needs someone to take over. */
    private void crashLeader() {
        var lease = store.lease(REGION, pool);
        long othersPausedUntil = contenders.stream().filter(c -> lease.isEmpty() || !c.name.equals(lease.get().holder()))
                .mapToLong(c -> c.pausedUntil).max().orElse(Long.MIN_VALUE);
        if (lease.isEmpty() || lease.get().released() || othersPausedUntil > now) {
            schedule(Math.max(now + SECOND, othersPausedUntil), this::crashLeader);
            return;
        }
        for (Contender c : contenders) {
            if (c.name.equals(lease.get().holder())) {
                c.crashed = true;
                crashAt = now;
                crashedEpoch = lease.get().epoch();
            }
        }
    }

    private void noteFailover() {
        if (crashAt >= 0 && failoverAt < 0) {
            store.lease(REGION, pool).filter(l -> l.epoch() > crashedEpoch && !l.released())
                    .ifPresent(l -> failoverAt = now);
        }
    }

    private void checkBeliefs() {
        String believer = null;
        for (Contender c : contenders) {
            if (!c.crashed && c.lease.epoch().isPresent()) {
                if (believer != null) {
                    violations.add(believer + " and " + c.name + " both believe they lead at " + now);
                }
                believer = c.name;
            }
        }
    }
}
