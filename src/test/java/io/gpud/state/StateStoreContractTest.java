package io.gpud.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.scaling.ScalingState;
import java.time.Instant;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The same rules from both stores: DynamoDB (Local, in-process) and the embedded one. */
class StateStoreContractTest {

    private static final AtomicInteger TABLES = new AtomicInteger();
    /** Far in the future: DynamoDB Local's TTL sweeper deletes items whose expires_at has really passed. */
    private static final Instant T0 = Instant.parse("2100-01-01T00:00:00Z");

    static Stream<Arguments> stores() {
        Supplier<StateStore> dynamo = () -> DynamoDbLocal.store("contract" + TABLES.incrementAndGet());
        Supplier<StateStore> embedded = EmbeddedStateStore::new;
        return Stream.of(Arguments.of("dynamodb-local", dynamo), Arguments.of("embedded", embedded));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stores")
    void nodeRegistryHidesExpiredItemsAndOtherRegions(String name, Supplier<StateStore> stores) {
        try (StateStore store = stores.get()) {
            store.putNode(node("a", "us-east-1", 10, T0, T0.plusSeconds(30)));
            store.putNode(node("b", "us-east-1", 20, T0, T0.plusSeconds(5)));
            store.putNode(node("c", "eu-west-1", 30, T0, T0.plusSeconds(30)));
            assertEquals(List.of("a", "b"), ids(store.nodes("us-east-1", T0.plusSeconds(1))));
            assertEquals(List.of("a"), ids(store.nodes("us-east-1", T0.plusSeconds(6))), "b expired by its TTL");
            store.putNode(node("b", "us-east-1", 25, T0.plusSeconds(6), T0.plusSeconds(40)));
            var loads = store.liveNodes("us-east-1", T0.plusSeconds(7));
            assertEquals(2, loads.size());
            assertEquals(25, loads.get(1).requestsTotal(), "the latest report replaces the item");
            assertEquals("model-a", loads.get(1).pool());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stores")
    void leaseWritesAreConditional(String name, Supplier<StateStore> stores) {
        try (StateStore store = stores.get()) {
            var first = assertInstanceOf(LeaseWrite.Won.class,
                    store.acquire("r", "p", "n1", OptionalLong.empty(), T0)).lease();
            assertEquals(1, first.epoch());
            assertInstanceOf(LeaseWrite.Lost.class, store.acquire("r", "p", "n2", OptionalLong.empty(), T0),
                    "the item exists already");
            var renewed = assertInstanceOf(LeaseWrite.Won.class, store.renew(first, T0.plusSeconds(5))).lease();
            assertEquals(1, renewed.epoch());
            assertEquals(2, renewed.version());
            assertInstanceOf(LeaseWrite.Lost.class, store.acquire("r", "p", "n2", OptionalLong.of(1), T0),
                    "a stale version loses");
            var taken = assertInstanceOf(LeaseWrite.Won.class,
                    store.acquire("r", "p", "n2", OptionalLong.of(2), T0.plusSeconds(30))).lease();
            assertEquals(2, taken.epoch());
            assertEquals("n2", taken.holder());
            assertInstanceOf(LeaseWrite.Lost.class, store.renew(renewed, T0.plusSeconds(31)), "n1 lost it");
            store.release(renewed, T0.plusSeconds(31));
            assertEquals("n2", store.lease("r", "p").orElseThrow().holder(), "a stale release changes nothing");
            store.release(taken, T0.plusSeconds(32));
            var released = store.lease("r", "p").orElseThrow();
            assertTrue(released.released());
            assertEquals(2, released.epoch());
            var again = assertInstanceOf(LeaseWrite.Won.class,
                    store.acquire("r", "p", "n1", OptionalLong.of(released.version()), T0.plusSeconds(33))).lease();
            assertEquals(3, again.epoch());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stores")
    void decisionsAreFencedByTheEpoch(String name, Supplier<StateStore> stores) {
        try (StateStore store = stores.get()) {
            assertInstanceOf(ScalingState.Fenced.class, store.recordDecision("r", "p", "n1", 1, 3, "no lease", T0));
            var l1 = ((LeaseWrite.Won) store.acquire("r", "p", "n1", OptionalLong.empty(), T0)).lease();
            assertEquals(new ScalingState.Recorded(1), store.recordDecision("r", "p", "n1", 1, 3, "up", T0));
            assertEquals(OptionalInt.of(3), store.lastDesired("r", "p"));
            store.acquire("r", "p", "n2", OptionalLong.of(l1.version()), T0.plusSeconds(25));
            assertInstanceOf(ScalingState.Fenced.class, store.recordDecision("r", "p", "n1", 1, 9, "stale", T0),
                    "the old leader's epoch is fenced off");
            assertInstanceOf(ScalingState.Fenced.class, store.recordDecision("r", "p", "n2", 1, 9, "wrong epoch", T0));
            assertEquals(new ScalingState.Recorded(2), store.recordDecision("r", "p", "n2", 2, 4, "up", T0));
            var last = store.lastDecision("r", "p").orElseThrow();
            assertEquals(4, last.desired());
            assertEquals("n2", last.holder());
            assertEquals(2, last.epoch());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stores")
    void regionHealthExpires(String name, Supplier<StateStore> stores) {
        try (StateStore store = stores.get()) {
            store.putRegionHealth(new RegionHealth("us-east-1", 3, 4, "a", T0, T0.plusSeconds(30)));
            store.putRegionHealth(new RegionHealth("eu-west-1", 0, 0, "b", T0, T0.plusSeconds(3)));
            assertEquals(2, store.regions(T0.plusSeconds(1)).size());
            var live = store.regions(T0.plusSeconds(10));
            assertEquals(1, live.size());
            assertEquals(3, live.getFirst().readyNodes());
        }
    }

    private static NodeRecord node(String id, String region, long requests, Instant at, Instant expires) {
        return new NodeRecord(id, region, "model-a", "10.0.0.1:8400", "READY", requests, 1, 0, at, expires);
    }

    private static List<String> ids(List<NodeRecord> nodes) {
        return nodes.stream().map(NodeRecord::nodeId).toList();
    }
}
