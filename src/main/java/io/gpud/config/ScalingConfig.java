package io.gpud.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The autoscaler: one leader per region per pool sizes the pool's Auto Scaling group from
 * the requests per second its nodes report.
 *
 * <p>The rate is measured over a sliding {@code window} (1 minute) and divided by the
 * capacity already asked for. Above {@code targetHigh} for {@code scaleUpAfter} (2 minutes)
 * without a break, the pool grows in one step to {@code ceil(rps / ((low + high) / 2))};
 * below {@code targetLow} for {@code scaleDownAfter} (10 minutes), it shrinks the same
 * way. A shorter {@code scaleUpAfter} reacts to bursts that headroom and 429s would have
 * absorbed, at the price of instances bought for a minute's load; a shorter
 * {@code scaleDownAfter} saves money and risks flapping.
 *
 * @param enabled          run the leader election and the controller on this node
 * @param dryRun           decide and log, never call Auto Scaling
 * @param pool             the pool this node's instance belongs to (reported in the node
 *                         registry; its requests count towards that pool), or null
 * @param window           the rate window; longer is smoother and slower
 * @param targetLow        RPS per instance below which the pool is too big
 * @param targetHigh       RPS per instance above which the pool is too small
 * @param scaleUpAfter     how long above the band before growing
 * @param scaleDownAfter   how long below the band before shrinking
 * @param queueDepthGuard  queued requests per instance above which the pool never shrinks
 * @param evaluateEvery    how often the leader looks at the rate
 * @param endpoint         Auto Scaling endpoint override (tests), or null for the region's
 * @param pools            the pools by name (default model-a 2–20, model-b 2–15, model-c 1–10)
 */
public record ScalingConfig(boolean enabled, boolean dryRun, String pool, Duration window, double targetLow,
        double targetHigh, Duration scaleUpAfter, Duration scaleDownAfter, int queueDepthGuard,
        Duration evaluateEvery, URI endpoint, Map<String, PoolConfig> pools) {

    public ScalingConfig {
        Validate.positive("scaling.window", window);
        Validate.positive("scaling.scaleUpAfter", scaleUpAfter);
        Validate.positive("scaling.scaleDownAfter", scaleDownAfter);
        Validate.positive("scaling.evaluateEvery", evaluateEvery);
        if (!(targetLow > 0) || !Double.isFinite(targetLow)) {
            throw ConfigException.invalid("scaling.targetLow", "was " + targetLow + ", must be a positive number");
        }
        if (!(targetHigh > targetLow) || !Double.isFinite(targetHigh)) {
            throw new ConfigException("scaling.targetHigh was " + targetHigh + ", must be above scaling.targetLow ("
                    + targetLow + ")");
        }
        Validate.range("scaling.queueDepthGuard", queueDepthGuard, 0, 1_000_000);
        if (pools == null || pools.isEmpty()) {
            throw ConfigException.invalid("scaling.pools", "is empty, must name at least one pool");
        }
        pools = Map.copyOf(new TreeMap<>(pools));
        if (pool != null && !pools.containsKey(pool)) {
            throw new ConfigException("scaling.pool was '" + pool + "', must be one of " + new TreeMap<>(pools).keySet());
        }
    }

    /** The defaults: the band 1.0–1.5 RPS/instance, 2 minutes up, 10 minutes down, three pools. */
    public static ScalingConfig defaults() {
        return new ScalingConfig(false, false, null, Duration.ofMinutes(1), 1.0, 1.5, Duration.ofMinutes(2),
                Duration.ofMinutes(10), 1, Duration.ofSeconds(10), null, defaultPools());
    }

    /** model-a 2–20, model-b 2–15, model-c 1–10 (SPEC section 10). */
    public static Map<String, PoolConfig> defaultPools() {
        return Map.of(
                "model-a", PoolConfig.of("model-a", 2, 20),
                "model-b", PoolConfig.of("model-b", 2, 15),
                "model-c", PoolConfig.of("model-c", 1, 10));
    }

    /** The pools in name order. */
    public List<PoolConfig> poolList() {
        return new TreeMap<>(pools).values().stream().toList();
    }
}
