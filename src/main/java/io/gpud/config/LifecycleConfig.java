package io.gpud.config;

import java.net.URI;
import java.time.Duration;

/**
 * The EC2 Auto Scaling lifecycle hook and spot interruption notices.
 *
 * <p>With {@code watch} on, the node asks the instance metadata service (IMDSv2) every
 * {@code pollEvery} for {@code autoscaling/target-lifecycle-state} and
 * {@code spot/instance-action}. On {@code Terminated} or a spot notice it drains; while
 * requests finish it records a lifecycle heartbeat every {@code heartbeatEvery}, then
 * completes the action with CONTINUE. The heartbeat must come more often than the hook's
 * heartbeat timeout, or Auto Scaling terminates the instance mid-drain.
 *
 * @param watch            watch IMDS (on EC2 instances in an Auto Scaling group)
 * @param imdsEndpoint     the instance metadata service
 * @param pollEvery        how often IMDS is asked; a spot notice gives two minutes
 * @param heartbeatEvery   how often a draining node extends the hook's timeout
 * @param hookName         the termination lifecycle hook ({@code autoscaling:EC2_INSTANCE_TERMINATING})
 * @param autoScalingGroup this instance's Auto Scaling group
 */
public record LifecycleConfig(boolean watch, URI imdsEndpoint, Duration pollEvery, Duration heartbeatEvery,
        String hookName, String autoScalingGroup) {

    public LifecycleConfig {
        if (imdsEndpoint == null || imdsEndpoint.getScheme() == null || imdsEndpoint.getHost() == null) {
            throw ConfigException.invalid("lifecycle.imdsEndpoint", "was " + imdsEndpoint + ", must be an http URL");
        }
        Validate.positive("lifecycle.pollEvery", pollEvery);
        Validate.positive("lifecycle.heartbeatEvery", heartbeatEvery);
        Validate.notBlank("lifecycle.hookName", hookName);
        if (watch) {
            Validate.notBlank("lifecycle.autoScalingGroup", autoScalingGroup);
        }
    }

    /** Off; IMDS at 169.254.169.254, polled every 5 s; heartbeats every 60 s; hook {@code gpud-drain}. */
    public static LifecycleConfig defaults() {
        return new LifecycleConfig(false, URI.create("http://169.254.169.254"), Duration.ofSeconds(5),
                Duration.ofSeconds(60), "gpud-drain", null);
    }
}
