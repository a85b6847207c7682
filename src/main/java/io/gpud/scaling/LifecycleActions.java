package io.gpud.scaling;

/** The Auto Scaling lifecycle-hook calls a terminating instance makes about itself. */
public interface LifecycleActions {

    /** Extends the hook's heartbeat timeout: the instance is still draining. */
    void heartbeat(String autoScalingGroup, String hookName, String instanceId);

    /** Ends the wait; {@code CONTINUE} lets the termination go on. */
    void complete(String autoScalingGroup, String hookName, String instanceId, String result);
}
