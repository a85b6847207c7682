package io.gpud.scaling;

import io.gpud.config.PoolConfig;
import io.gpud.config.ScalingConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * Decides one pool's desired capacity from what its nodes report.
 *
 * <h2>Why not target tracking</h2>
 * EC2 Auto Scaling's target tracking grows after three one-minute datapoints and shrinks
 * after fifteen, with its own cooldowns and no notion of "two minutes above a band, then
 * ten minutes below". The rules here (REQ-1.6) are simple enough to state exactly, so the
 * controller states them and the group gets plain {@code SetDesiredCapacity} calls, with no
 * dynamic policy attached to fight them.
 *
 * <h2>The rules</h2>
 * The quantity is {@code q = rps / instances}: the pool's requests per second over the
 * sliding rate window (1 minute), per instance in service. The band is
 * [{@code targetLow}, {@code targetHigh}] (1.0–1.5).
 * <ul>
 * <li>Up: {@code q > targetHigh} at every evaluation for {@code scaleUpAfter} (2 minutes).
 *     The streak starts at the first evaluation above the band, so the earliest grow is
 *     exactly {@code scaleUpAfter} after {@code q} rose above it, and any evaluation in the
 *     band or below restarts it.</li>
 * <li>Down: {@code q < targetLow} at every evaluation for {@code scaleDownAfter} (10
 *     minutes), and the pool's queue no deeper than {@code queueDepthGuard} per instance:
 *     a pool with a queue is not oversized, whatever the rate says.</li>
 * <li>Step: straight to the capacity that puts {@code q} in the middle of the band,
 *     {@code ceil(rps / ((low + high) / 2))}, at least one instance in the direction of
 *     the change, clamped to the pool's min/max. One step rather than +1 a time: at 2
 *     minutes a step, +1 steps would take half an hour to triple a pool.</li>
 * <li>After a change both streaks restart, so the next change in either direction needs a
 *     whole new streak measured against the new capacity.</li>
 * <li>While instances asked for are still launching (in service below desired), the
 *     controller does not grow again: the rate per instance is still measured over the old
 *     capacity and would buy the same instances twice.</li>
 * <li>Nothing is decided before the rate window is full; a desired capacity outside
 *     min/max (a changed config) is corrected at once.</li>
 * </ul>
 * A burst shorter than {@code scaleUpAfter} never buys instances: it is absorbed by the
 * headroom below {@code targetHigh} and, past that, by each node's bounded queue answering
 * 429 with Retry-After.
 *
 * <h2>Time</h2>
 * The controller has no clock: time is the {@link Observation#at()} it is given. The live
 * {@link Autoscaler} passes wall time every {@code evaluateEvery}; {@link TraceReplay}
 * passes the trace's own time, which is how {@code gpud scale simulate} replays a day in a
 * second through this exact code. Not thread-safe: one owner calls it.
 */
public final class ScalingController {

    private final PoolConfig pool;
    private final ScalingConfig policy;
    private final double targetMiddle;
    private int desired;
    private Instant aboveSince;
    private Instant belowSince;

    /** A controller that starts from {@code desired} (clamped into the pool's min/max at the first evaluation). */
    public ScalingController(PoolConfig pool, ScalingConfig policy, int desired) {
        this.pool = pool;
        this.policy = policy;
        this.targetMiddle = (policy.targetLow() + policy.targetHigh()) / 2;
        this.desired = desired;
    }

    /** The capacity asked for by the last decision. */
    public int desired() {
        return desired;
    }

    public PoolConfig pool() {
        return pool;
    }

    /** Decides at {@code o.at()}; a {@link Decision.Resize} has already become the new desired capacity. */
    public Decision evaluate(Observation o) {
        int clamped = clamp(desired);
        if (clamped != desired) {
            return resize(clamped, String.format(Locale.ROOT, "outside pool bounds %d-%d",
                    pool.minInstances(), pool.maxInstances()));
        }
        if (!o.windowFull()) {
            aboveSince = null;
            belowSince = null;
            return new Decision.Hold(desired, "measuring: the rate window is not full yet");
        }
        double perInstance = o.instances() > 0 ? o.rps() / o.instances() : (o.rps() > 0 ? Double.POSITIVE_INFINITY : 0);
        String rate = String.format(Locale.ROOT, "%.2f rps/instance (%.2f rps over %d in service)", perInstance,
                o.rps(), o.instances());
        if (perInstance > policy.targetHigh()) {
            belowSince = null;
            if (aboveSince == null) {
                aboveSince = o.at();
            }
            Duration above = Duration.between(aboveSince, o.at());
            if (above.compareTo(policy.scaleUpAfter()) < 0) {
                return new Decision.Hold(desired, "above the band for " + above.toSeconds() + "s: " + rate);
            }
            if (o.instances() < desired) {
                return new Decision.Hold(desired, (desired - o.instances()) + " instances still launching: " + rate);
            }
            int target = clamp(Math.max(desired + 1, needed(o.rps())));
            if (target == desired) {
                return new Decision.Hold(desired, "at the pool maximum " + pool.maxInstances() + ": " + rate);
            }
            return resize(target, String.format(Locale.ROOT, "up: above %.2f for %ds: %s",
                    policy.targetHigh(), above.toSeconds(), rate));
        }
        if (perInstance < policy.targetLow()) {
            aboveSince = null;
            if (belowSince == null) {
                belowSince = o.at();
            }
            Duration below = Duration.between(belowSince, o.at());
            if (below.compareTo(policy.scaleDownAfter()) < 0) {
                return new Decision.Hold(desired, "below the band for " + below.toSeconds() + "s: " + rate);
            }
            double queuePerInstance = o.instances() > 0 ? (double) o.queueDepth() / o.instances() : o.queueDepth();
            if (queuePerInstance > policy.queueDepthGuard()) {
                return new Decision.Hold(desired, String.format(Locale.ROOT,
                        "queue guard: %.1f queued per instance, more than %d", queuePerInstance,
                        policy.queueDepthGuard()));
            }
            int target = clamp(Math.min(desired - 1, needed(o.rps())));
            if (target == desired) {
                return new Decision.Hold(desired, "at the pool minimum " + pool.minInstances() + ": " + rate);
            }
            return resize(target, String.format(Locale.ROOT, "down: below %.2f for %ds: %s",
                    policy.targetLow(), below.toSeconds(), rate));
        }
        aboveSince = null;
        belowSince = null;
        return new Decision.Hold(desired, "in the band: " + rate);
    }

    /** Instances that put the rate per instance in the middle of the band. */
    private int needed(double rps) {
        double n = Math.ceil(rps / targetMiddle);
        return n >= Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) n;
    }

    private int clamp(int n) {
        return Math.max(pool.minInstances(), Math.min(pool.maxInstances(), n));
    }

    private Decision resize(int target, String reason) {
        int from = desired;
        desired = target;
        aboveSince = null;
        belowSince = null;
        return new Decision.Resize(from, target, reason);
    }
}
