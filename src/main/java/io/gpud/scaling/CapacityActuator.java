package io.gpud.scaling;

/** Sets a pool's desired capacity; {@link AwsAutoScaling} does it with EC2 Auto Scaling. */
public interface CapacityActuator {

    /** Asks the group for {@code desired} instances. */
    void setDesiredCapacity(String autoScalingGroup, int desired);
}
