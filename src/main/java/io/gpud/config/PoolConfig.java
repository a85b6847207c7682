package io.gpud.config;

/**
 * One model pool of a region: the instances that serve one model, as one EC2 Auto Scaling
 * group.
 *
 * @param name             the pool's name, as in {@code scaling.pools.<name>}
 * @param minInstances     the autoscaler never asks for fewer; at least 0
 * @param maxInstances     the autoscaler never asks for more; at least {@code minInstances}
 * @param autoScalingGroup the EC2 Auto Scaling group of this pool in this region; it must
 *                         have no dynamic scaling policies attached, or they fight the
 *                         autoscaler
 */
public record PoolConfig(String name, int minInstances, int maxInstances, String autoScalingGroup) {

    public PoolConfig {
        Validate.notBlank("scaling.pools name", name);
        if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw ConfigException.invalid("scaling.pools name", "was '" + name
                    + "', must be 1 to 64 letters, digits, '.', '_' or '-'");
        }
        Validate.range("scaling.pools." + name + ".min", minInstances, 0, 10_000);
        Validate.range("scaling.pools." + name + ".max", maxInstances, Math.max(1, minInstances), 10_000);
        Validate.notBlank("scaling.pools." + name + ".autoScalingGroup", autoScalingGroup);
    }

    /** A pool whose Auto Scaling group is named {@code gpud-<name>}. */
    public static PoolConfig of(String name, int min, int max) {
        return new PoolConfig(name, min, max, "gpud-" + name);
    }
}
