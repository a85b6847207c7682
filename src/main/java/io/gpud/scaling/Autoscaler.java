package io.gpud.scaling;

import io.gpud.config.PoolConfig;
import io.gpud.config.ScalingConfig;
import io.gpud.core.Ticks;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link ScalingController} for every pool of this region that this node leads.
 *
 * <p>Every {@code scaling.evaluateEvery}: for each pool whose lease this node holds, read
 * the pool's live nodes from the registry, feed their request counters to the pool's
 * {@link PoolRate}, and evaluate. A resize is first recorded in the state store under the
 * lease epoch; only if the store accepts it (the lease has not moved on) does
 * {@code SetDesiredCapacity} go out. A new leader starts from the last recorded desired
 * capacity (or the instances it sees in service, if more) and measures a whole window
 * before it decides anything. In dry-run mode a
 * resize is only logged.
 */
public final class Autoscaler implements Runnable, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Autoscaler.class);

    /** One pool and this node's lease on it. */
    public record LeadPool(PoolConfig pool, Leadership leadership) {
    }

    private static final class PoolRun {
        final LeadPool lead;
        ScalingController controller;
        PoolRate rate;
        long epoch = -1;

        PoolRun(LeadPool lead) {
            this.lead = lead;
        }
    }

    private final String region;
    private final ScalingConfig config;
    private final List<PoolRun> pools = new ArrayList<>();
    private final ScalingState state;
    private final CapacityActuator actuator;
    private final InstantSource wall;
    private final Ticks ticks = new Ticks();

    public Autoscaler(String region, ScalingConfig config, List<LeadPool> pools, ScalingState state,
            CapacityActuator actuator, InstantSource wall) {
        this.region = region;
        this.config = config;
        pools.forEach(p -> this.pools.add(new PoolRun(p)));
        this.state = state;
        this.actuator = actuator;
        this.wall = wall;
    }

    @Override
    public void run() {
        do {
            try {
                evaluate(wall.instant());
            } catch (RuntimeException e) {
                log.warn("autoscaler: {}", e.getMessage());
            }
        } while (ticks.await(config.evaluateEvery()));
    }

    /** One evaluation of every pool at {@code now}; the resizes it made. */
    public List<Decision.Resize> evaluate(Instant now) {
        var resizes = new ArrayList<Decision.Resize>();
        List<NodeLoad> nodes = null;
        for (PoolRun run : pools) {
            OptionalLong epoch = run.lead.leadership().epoch();
            if (epoch.isEmpty()) {
                run.controller = null;
                continue;
            }
            PoolConfig pool = run.lead.pool();
            if (nodes == null) {
                nodes = state.liveNodes(region, now);
            }
            List<NodeLoad> members = nodes.stream().filter(n -> pool.name().equals(n.pool())).toList();
            if (run.controller == null || run.epoch != epoch.getAsLong()) {
                int start = Math.max(state.lastDesired(region, pool.name()).orElse(pool.minInstances()),
                        members.size());
                run.controller = new ScalingController(pool, config, start);
                run.rate = new PoolRate(config.window());
                run.epoch = epoch.getAsLong();
                log.info("autoscaler: leading pool {} in {} at epoch {}, from desired {}", pool.name(), region,
                        run.epoch, start);
            }
            int queued = 0;
            for (NodeLoad n : members) {
                run.rate.record(n.nodeId(), n.reportedAt(), n.requestsTotal());
                queued += n.queueDepth();
            }
            int instances = members.size();
            var observation = new Observation(now, run.rate.rps(now), run.rate.windowFull(now), instances, queued);
            if (run.controller.evaluate(observation) instanceof Decision.Resize resize) {
                if (act(run, resize, now)) {
                    resizes.add(resize);
                }
            }
        }
        return resizes;
    }

    private boolean act(PoolRun run, Decision.Resize resize, Instant now) {
        PoolConfig pool = run.lead.pool();
        if (config.dryRun()) {
            log.info("autoscaler (dry run): would set {} ({}) from {} to {}: {}", pool.autoScalingGroup(), pool.name(),
                    resize.from(), resize.to(), resize.reason());
            return true;
        }
        var outcome = state.recordDecision(region, pool.name(), run.lead.leadership().holder(), run.epoch,
                resize.to(), resize.reason(), now);
        if (outcome instanceof ScalingState.Fenced fenced) {
            log.warn("autoscaler: pool {} decision to {} fenced: {}", pool.name(), resize.to(), fenced.why());
            run.controller = null;
            return false;
        }
        actuator.setDesiredCapacity(pool.autoScalingGroup(), resize.to());
        log.info("autoscaler: set {} ({}) from {} to {} at epoch {}: {}", pool.autoScalingGroup(), pool.name(),
                resize.from(), resize.to(), run.epoch, resize.reason());
        return true;
    }

    @Override
    public void close() {
        ticks.close();
    }
}
