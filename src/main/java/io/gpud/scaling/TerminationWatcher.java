package io.gpud.scaling;

import io.gpud.config.LifecycleConfig;
import io.gpud.core.Ticks;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches IMDSv2 for this instance's end and drains before it comes.
 *
 * <p>Every {@code lifecycle.pollEvery} it asks for {@code autoscaling/target-lifecycle-state}
 * and {@code spot/instance-action}. A spot notice drains the node (the instance has two
 * minutes; the drain is what can be done in them) and the watch goes on, since Auto
 * Scaling also moves a spot instance it owns to {@code Terminated}. {@code Terminated}
 * means the termination hook holds the instance in {@code Terminating:Wait}: the node
 * drains, a heartbeat goes to the hook every {@code lifecycle.heartbeatEvery} while
 * requests finish, and once nothing is in flight the action is completed with
 * {@code CONTINUE}, the last thing the watcher does. The watcher owns the IMDS client and
 * closes it when it stops.
 */
public final class TerminationWatcher implements Runnable, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TerminationWatcher.class);
    static final String TERMINATED = "Terminated";
    static final String CONTINUE = "CONTINUE";
    private static final int COMPLETE_ATTEMPTS = 5;

    private final InstanceMetadataClient imds;
    private final LifecycleActions actions;
    private final DrainTarget target;
    private final LifecycleConfig config;
    private final Ticks ticks = new Ticks();
    private volatile boolean completed;

    public TerminationWatcher(InstanceMetadataClient imds, LifecycleActions actions, DrainTarget target,
            LifecycleConfig config) {
        this.imds = imds;
        this.actions = actions;
        this.target = target;
        this.config = config;
    }

    /** Whether the lifecycle action has been completed. */
    public boolean completed() {
        return completed;
    }

    /** Watches until closed or the action is completed, then closes the IMDS client. */
    @Override
    public void run() {
        try (imds) {
            watch();
        }
    }

    private void watch() {
        boolean spotDraining = false;
        do {
            try {
                Optional<String> state = imds.targetLifecycleState();
                if (state.isPresent() && state.get().equals(TERMINATED)) {
                    drainAndComplete();
                    return;
                }
                if (!spotDraining) {
                    Optional<String> spot = imds.spotInstanceAction();
                    if (spot.isPresent()) {
                        spotDraining = true;
                        target.beginDrain("spot interruption notice " + spot.get().strip());
                    }
                }
            } catch (ScalingException e) {
                log.warn("lifecycle watch: {}", e.getMessage());
            }
        } while (ticks.await(config.pollEvery()));
    }

    private void drainAndComplete() {
        target.beginDrain("Auto Scaling lifecycle: target state " + TERMINATED + " (hook " + config.hookName() + ")");
        String instanceId = imds.instanceId();
        try {
            while (!target.awaitDrained(config.heartbeatEvery())) {
                if (ticks.closed()) {
                    return;
                }
                try {
                    actions.heartbeat(config.autoScalingGroup(), config.hookName(), instanceId);
                    log.info("lifecycle hook {}: heartbeat for {}, still draining", config.hookName(), instanceId);
                } catch (ScalingException e) {
                    log.warn("lifecycle hook {}: {}", config.hookName(), e.getMessage());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        for (int attempt = 1; attempt <= COMPLETE_ATTEMPTS; attempt++) {
            try {
                actions.complete(config.autoScalingGroup(), config.hookName(), instanceId, CONTINUE);
                completed = true;
                log.info("lifecycle hook {}: drained, completed with {} for {}", config.hookName(), CONTINUE,
                        instanceId);
                return;
            } catch (ScalingException e) {
                log.warn("lifecycle hook {}: attempt {}/{}: {}", config.hookName(), attempt, COMPLETE_ATTEMPTS,
                        e.getMessage());
                if (!ticks.await(config.pollEvery().multipliedBy(attempt))) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        ticks.close();
    }
}
