package io.gpud.scaling;

import java.net.URI;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;
import software.amazon.awssdk.services.autoscaling.AutoScalingClientBuilder;

/**
 * EC2 Auto Scaling through aws-sdk-java-v2: {@code SetDesiredCapacity} for the autoscaler,
 * {@code RecordLifecycleActionHeartbeat} and {@code CompleteLifecycleAction} for the
 * termination hook. The groups must have no dynamic scaling policies: they would move the
 * desired capacity behind the controller's back.
 *
 * <p>{@code SetDesiredCapacity} is sent with {@code HonorCooldown=false}: the controller's
 * own streak rules are the cooldown. SDK failures become {@link ScalingException}.
 */
public final class AwsAutoScaling implements CapacityActuator, LifecycleActions, AutoCloseable {

    private final AutoScalingClient client;

    /** Over an existing client (which it closes). */
    public AwsAutoScaling(AutoScalingClient client) {
        this.client = client;
    }

    /** A client in {@code region}, through {@code endpoint} when given, with the default credentials chain. */
    public static AwsAutoScaling connect(String region, URI endpoint) {
        try {
            AutoScalingClientBuilder builder = AutoScalingClient.builder()
                    .region(Region.of(region))
                    .credentialsProvider(DefaultCredentialsProvider.builder().build())
                    .httpClientBuilder(ApacheHttpClient.builder());
            if (endpoint != null) {
                builder.endpointOverride(endpoint);
            }
            return new AwsAutoScaling(builder.build());
        } catch (SdkException e) {
            throw new ScalingException("cannot create an Auto Scaling client for region " + region + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void setDesiredCapacity(String autoScalingGroup, int desired) {
        try {
            client.setDesiredCapacity(b -> b.autoScalingGroupName(autoScalingGroup).desiredCapacity(desired)
                    .honorCooldown(false));
        } catch (SdkException e) {
            throw new ScalingException("Auto Scaling: cannot set the desired capacity of " + autoScalingGroup + " to "
                    + desired + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void heartbeat(String autoScalingGroup, String hookName, String instanceId) {
        try {
            client.recordLifecycleActionHeartbeat(b -> b.autoScalingGroupName(autoScalingGroup)
                    .lifecycleHookName(hookName).instanceId(instanceId));
        } catch (SdkException e) {
            throw new ScalingException("Auto Scaling: cannot record a heartbeat for " + instanceId + " on hook "
                    + hookName + " of " + autoScalingGroup + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void complete(String autoScalingGroup, String hookName, String instanceId, String result) {
        try {
            client.completeLifecycleAction(b -> b.autoScalingGroupName(autoScalingGroup).lifecycleHookName(hookName)
                    .instanceId(instanceId).lifecycleActionResult(result));
        } catch (SdkException e) {
            throw new ScalingException("Auto Scaling: cannot complete the lifecycle action of " + instanceId
                    + " on hook " + hookName + " of " + autoScalingGroup + " with " + result + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
