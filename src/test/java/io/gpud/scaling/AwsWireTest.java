package io.gpud.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The real AWS SDK client (Auto Scaling, awsQuery protocol) and the IMDSv2 client against
 * in-process endpoints that check each request is exactly what AWS expects.
 */
class AwsWireTest {

    @Test
    void setDesiredCapacityIsOneSignedQueryPost() throws Exception {
        try (var fake = new FakeAutoScaling(); var asg = new AwsAutoScaling(fake.client())) {
            asg.setDesiredCapacity("gpud-model-a", 7);
            var r = fake.requests().getFirst();
            assertEquals("POST", r.method());
            assertEquals("/", r.path());
            assertTrue(r.contentType().startsWith("application/x-www-form-urlencoded"), r.contentType());
            assertTrue(r.authorization().startsWith("AWS4-HMAC-SHA256 Credential=AKIDTEST/"), r.authorization());
            assertTrue(r.authorization().contains("/us-east-1/autoscaling/aws4_request"), r.authorization());
            assertEquals(Map.of("Action", "SetDesiredCapacity", "Version", "2011-01-01",
                    "AutoScalingGroupName", "gpud-model-a", "DesiredCapacity", "7", "HonorCooldown", "false"),
                    r.params());
            assertEquals(1, fake.requests().size());
        }
    }

    @Test
    void lifecycleHeartbeatAndCompletion() throws Exception {
        try (var fake = new FakeAutoScaling(); var asg = new AwsAutoScaling(fake.client())) {
            asg.heartbeat("gpud-model-b", "gpud-drain", "i-0123456789abcdef0");
            asg.complete("gpud-model-b", "gpud-drain", "i-0123456789abcdef0", "CONTINUE");
            assertEquals(List.of(
                    Map.of("Action", "RecordLifecycleActionHeartbeat", "Version", "2011-01-01",
                            "AutoScalingGroupName", "gpud-model-b", "LifecycleHookName", "gpud-drain",
                            "InstanceId", "i-0123456789abcdef0"),
                    Map.of("Action", "CompleteLifecycleAction", "Version", "2011-01-01",
                            "AutoScalingGroupName", "gpud-model-b", "LifecycleHookName", "gpud-drain",
                            "InstanceId", "i-0123456789abcdef0", "LifecycleActionResult", "CONTINUE")),
                    fake.requests().stream().map(FakeAutoScaling.Request::params).toList());
        }
    }

    @Test
    void awsErrorsBecomeScalingExceptionsWithTheAwsMessage() throws Exception {
        try (var fake = new FakeAutoScaling(); var asg = new AwsAutoScaling(fake.client())) {
            fake.failNext(1);
            var e = assertThrows(ScalingException.class,
                    () -> asg.complete("gpud-model-b", "gpud-drain", "i-1", "CONTINUE"));
            assertTrue(e.getMessage().contains("No active Lifecycle Action found with instance ID i-1"), e.getMessage());
            assertTrue(e.getMessage().startsWith("Auto Scaling: cannot complete the lifecycle action of i-1"),
                    e.getMessage());
        }
    }

    @Test
    void imdsV2TakesATokenThenSendsItWithEveryRead() throws Exception {
        try (var imds = new FakeImds(); var client = new InstanceMetadataClient(imds.endpoint())) {
            imds.set("autoscaling/target-lifecycle-state", "InService");
            imds.set("instance-id", "i-0abc");
            assertEquals(Optional.of("InService"), client.targetLifecycleState());
            assertEquals(Optional.empty(), client.spotInstanceAction(), "404: no notice");
            assertEquals("i-0abc", client.instanceId());
            var requests = imds.requests();
            assertEquals(new FakeImds.Request("PUT", "/latest/api/token", null, "21600"), requests.get(0));
            assertEquals(new FakeImds.Request("GET", "/latest/meta-data/autoscaling/target-lifecycle-state",
                    "token-1", null), requests.get(1));
            assertEquals(new FakeImds.Request("GET", "/latest/meta-data/spot/instance-action", "token-1", null),
                    requests.get(2));
            assertEquals(4, requests.size(), "one token for all three reads: " + requests);

            imds.expireTokens();
            imds.set("spot/instance-action", "{\"action\": \"terminate\", \"time\": \"2026-01-01T00:02:00Z\"}");
            assertTrue(client.spotInstanceAction().orElseThrow().contains("terminate"));
            var after = imds.requests().subList(4, imds.requests().size());
            assertEquals(List.of("GET 401", "PUT", "GET token-2"), after.stream()
                    .map(r -> r.method() + (r.method().equals("GET") ? (r.token().equals("token-1") ? " 401"
                            : " " + r.token()) : ""))
                    .toList(), "a 401 fetches a new token once and retries");
        }
    }

    @Test
    void imdsThatIsNotThereIsAClearError() {
        try (var client = new InstanceMetadataClient(java.net.URI.create("http://127.0.0.1:1"))) {
            var e = assertThrows(ScalingException.class, client::targetLifecycleState);
            assertTrue(e.getMessage().startsWith("IMDS at http://127.0.0.1:1 unreachable"), e.getMessage());
        }
    }
}
