package io.gpud.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.ScalingConfig;
import io.gpud.scaling.Autoscaler;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.scaling.FakeAutoScaling;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The autoscaler end to end on simulated time: nodes report counters to the registry, the
 * lease holder scales through the real SDK client against a fake Auto Scaling endpoint, and
 * a leader stalled past its lease is fenced off: its decision never reaches Auto Scaling.
 */
class FencedAutoscalerTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void onlyTheCurrentLeaseHolderReachesAutoScaling() throws Exception {
        var store = new EmbeddedStateStore();
        var timeA = new AtomicLong();
        var timeB = new AtomicLong();
        var wallNanos = new AtomicLong();
        ScalingConfig config = ScalingConfig.defaults();
        var pool = config.pools().get("model-a");
        try (var fake = new FakeAutoScaling(); var asg = new AwsAutoScaling(fake.client())) {
            var leaseA = new LeaderLease(store, "us-east-1", "model-a", "node-a", Duration.ofSeconds(20),
                    Duration.ofSeconds(5), timeA::get, () -> T0.plusNanos(wallNanos.get()));
            var leaseB = new LeaderLease(store, "us-east-1", "model-a", "node-b", Duration.ofSeconds(20),
                    Duration.ofSeconds(5), timeB::get, () -> T0.plusNanos(wallNanos.get()));
            var scalerA = new Autoscaler("us-east-1", config, List.of(new Autoscaler.LeadPool(pool, leaseA)), store,
                    asg, () -> T0.plusNanos(wallNanos.get()));
            leaseA.poll();
            leaseB.poll();
            assertEquals(1, leaseA.epoch().orElseThrow());
            assertTrue(leaseB.epoch().isEmpty());

            // two nodes at 2 rps each on a pool of 2 (2.0/instance, above the band) for 3 minutes
            for (int s = 0; s <= 180; s += 10) {
                long nanos = Duration.ofSeconds(s).toNanos();
                wallNanos.set(nanos);
                timeA.set(nanos);
                timeB.set(nanos);
                for (String node : List.of("n1", "n2")) {
                    store.putNode(new NodeRecord(node, "us-east-1", "model-a", "127.0.0.1:1", "READY", 2L * s, 0, 0,
                            T0.plusSeconds(s), T0.plusSeconds(s + 30)));
                }
                if (s % 5 == 0) {
                    leaseA.poll();
                    leaseB.poll();
                }
                scalerA.evaluate(T0.plusSeconds(s));
            }
            var sets = fake.requests("SetDesiredCapacity");
            assertEquals(1, sets.size(), "one grow: 60 s to fill the window, then 120 s above the band");
            assertEquals("4", sets.getFirst().params().get("DesiredCapacity"), "ceil(4 rps / 1.25)");
            assertEquals(4, store.lastDecision("us-east-1", "model-a").orElseThrow().desired());

            // node-a stalls (its clock stands still) while node-b takes the lease; then node-a acts
            for (int s = 185; s <= 215; s += 5) {
                timeB.set(Duration.ofSeconds(s).toNanos());
                wallNanos.set(Duration.ofSeconds(s).toNanos());
                leaseB.poll();
            }
            assertEquals(2, leaseB.epoch().orElseThrow());
            assertEquals(1, leaseA.epoch().orElseThrow(), "node-a, stalled, still believes it leads");
            for (int s = 190; s <= 400; s += 10) {
                for (String node : List.of("n1", "n2", "n3", "n4")) {
                    store.putNode(new NodeRecord(node, "us-east-1", "model-a", "127.0.0.1:1", "READY", 10L * s, 0, 0,
                            T0.plusSeconds(s), T0.plusSeconds(s + 30)));
                }
                scalerA.evaluate(T0.plusSeconds(s));
            }
            assertEquals(1, fake.requests("SetDesiredCapacity").size(), "the stale leader's decisions were fenced");
            assertEquals(Map.of("Action", "SetDesiredCapacity", "Version", "2011-01-01",
                    "AutoScalingGroupName", "gpud-model-a", "DesiredCapacity", "4", "HonorCooldown", "false"),
                    fake.requests().getFirst().params());
        }
    }

    @Test
    void dryRunDecidesButNeitherRecordsNorCallsAutoScaling() throws Exception {
        var store = new EmbeddedStateStore();
        var d = ScalingConfig.defaults();
        var config = new ScalingConfig(true, true, null, d.window(), d.targetLow(), d.targetHigh(), d.scaleUpAfter(),
                d.scaleDownAfter(), d.queueDepthGuard(), d.evaluateEvery(), null, d.pools());
        var time = new AtomicLong();
        try (var fake = new FakeAutoScaling(); var asg = new AwsAutoScaling(fake.client())) {
            var lease = new LeaderLease(store, "r", "model-c", "node-a", Duration.ofSeconds(20), Duration.ofSeconds(5),
                    time::get, () -> T0.plusNanos(time.get()));
            lease.poll();
            var scaler = new Autoscaler("r", config, List.of(new Autoscaler.LeadPool(d.pools().get("model-c"), lease)),
                    store, asg, () -> T0.plusNanos(time.get()));
            int resizes = 0;
            for (int s = 0; s <= 180; s += 5) {
                time.set(Duration.ofSeconds(s).toNanos());
                lease.poll();
                store.putNode(new NodeRecord("n1", "r", "model-c", "a:1", "READY", 5L * s, 0, 0, T0.plusSeconds(s),
                        T0.plusSeconds(s + 30)));
                resizes += scaler.evaluate(T0.plusSeconds(s)).size();
            }
            assertEquals(1, resizes, "the controller decided to grow");
            assertEquals(List.of(), fake.requests(), "dry run: nothing sent");
            assertTrue(store.lastDecision("r", "model-c").isEmpty(), "dry run: nothing recorded");
        }
    }
}
