package io.gpud.state;

import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbClientBuilder;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.ConditionCheck;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.Put;
import software.amazon.awssdk.services.dynamodb.model.ResourceInUseException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

/**
 * The state store on DynamoDB. Four tables, each with a string partition key and no sort
 * key, on-demand capacity, replicated as global tables across the cluster's regions:
 *
 * <table>
 * <caption>tables</caption>
 * <tr><th>table</th><th>key</th><th>attributes</th></tr>
 * <tr><td>{@code <prefix>-nodes}</td><td>{@code node_id}</td><td>node_region, pool, address,
 *     node_state, requests_total, in_flight, queue_depth, reported_at_ms, expires_at (TTL,
 *     epoch seconds)</td></tr>
 * <tr><td>{@code <prefix>-leases}</td><td>{@code lease_key} = region#pool</td><td>holder,
 *     epoch, lease_version, renewed_at_ms</td></tr>
 * <tr><td>{@code <prefix>-decisions}</td><td>{@code pool_key} = region#pool</td><td>holder,
 *     epoch, desired, reason, decided_at_ms</td></tr>
 * <tr><td>{@code <prefix>-regions}</td><td>{@code region_name}</td><td>ready_nodes,
 *     total_nodes, reporter, reported_at_ms, expires_at (TTL)</td></tr>
 * </table>
 *
 * <p>Node items have one writer each, so they are plain puts; their TTL attribute lets
 * DynamoDB delete them eventually, and readers filter on it because that deletion can
 * lag by days. Lease writes are conditional updates, and a decision is a transaction: a
 * condition check that the writer still holds the lease at its epoch, with a put that no
 * later epoch has overtaken. Conditions are evaluated on the replica of the region the
 * client talks to, so each node must talk to its own region ({@code state.endpoint}
 * unset).
 */
public final class DynamoStateStore implements StateStore {

    private final DynamoDbClient client;
    private final String nodesTable;
    private final String leasesTable;
    private final String decisionsTable;
    private final String regionsTable;

    /** A store over an existing client (which it closes). */
    public DynamoStateStore(DynamoDbClient client, String tablePrefix) {
        this.client = client;
        this.nodesTable = tablePrefix + "-nodes";
        this.leasesTable = tablePrefix + "-leases";
        this.decisionsTable = tablePrefix + "-decisions";
        this.regionsTable = tablePrefix + "-regions";
    }

    /**
     * A store in {@code region}, through {@code endpoint} when given (else the region's own
     * endpoint), with the default AWS credentials chain (the instance profile on EC2).
     */
    public static DynamoStateStore connect(String region, URI endpoint, String tablePrefix) {
        try {
            DynamoDbClientBuilder builder = DynamoDbClient.builder()
                    .region(Region.of(region))
                    .credentialsProvider(DefaultCredentialsProvider.builder().build())
                    .httpClientBuilder(ApacheHttpClient.builder());
            if (endpoint != null) {
                builder.endpointOverride(endpoint);
            }
            return new DynamoStateStore(builder.build(), tablePrefix);
        } catch (SdkException e) {
            throw new StateException("cannot create a DynamoDB client for region " + region + ": " + e.getMessage(), e);
        }
    }

    /** Creates the four tables if they do not exist (DynamoDB Local, first deployments); waits until they do. */
    public void createTables() {
        create(nodesTable, "node_id");
        create(leasesTable, "lease_key");
        create(decisionsTable, "pool_key");
        create(regionsTable, "region_name");
        for (String table : List.of(nodesTable, leasesTable, decisionsTable, regionsTable)) {
            call("wait for table " + table, () -> client.waiter().waitUntilTableExists(b -> b.tableName(table)));
        }
        for (String table : List.of(nodesTable, regionsTable)) {
            call("enable TTL on " + table, () -> client.updateTimeToLive(b -> b.tableName(table)
                    .timeToLiveSpecification(t -> t.enabled(true).attributeName("expires_at"))));
        }
    }

    private void create(String table, String key) {
        try {
            client.createTable(b -> b.tableName(table)
                    .attributeDefinitions(AttributeDefinition.builder().attributeName(key)
                            .attributeType(ScalarAttributeType.S).build())
                    .keySchema(KeySchemaElement.builder().attributeName(key).keyType(KeyType.HASH).build())
                    .billingMode(BillingMode.PAY_PER_REQUEST));
        } catch (ResourceInUseException e) {
            // already there
        } catch (SdkException e) {
            throw new StateException("cannot create table " + table + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void putNode(NodeRecord n) {
        var item = new HashMap<String, AttributeValue>();
        item.put("node_id", s(n.nodeId()));
        item.put("node_region", s(n.region()));
        if (n.pool() != null) {
            item.put("pool", s(n.pool()));
        }
        item.put("address", s(n.address() == null ? "" : n.address()));
        item.put("node_state", s(n.state() == null ? "" : n.state()));
        item.put("requests_total", num(n.requestsTotal()));
        item.put("in_flight", num(n.inFlight()));
        item.put("queue_depth", num(n.queueDepth()));
        item.put("reported_at_ms", num(n.reportedAt().toEpochMilli()));
        item.put("expires_at", num(n.expiresAt().getEpochSecond()));
        call("write node " + n.nodeId(), () -> client.putItem(b -> b.tableName(nodesTable).item(item)));
    }

    @Override
    public List<NodeRecord> nodes(String region, Instant now) {
        var out = new ArrayList<NodeRecord>();
        call("scan " + nodesTable, () -> client.scanPaginator(b -> b.tableName(nodesTable).consistentRead(true)
                        .filterExpression("#r = :r AND #e > :now")
                        .expressionAttributeNames(Map.of("#r", "node_region", "#e", "expires_at"))
                        .expressionAttributeValues(Map.of(":r", s(region), ":now", num(now.getEpochSecond() - 1))))
                .items().forEach(item -> {
                    NodeRecord n = nodeRecord(item);
                    if (n.liveAt(now)) {
                        out.add(n);
                    }
                }));
        out.sort(Comparator.comparing(NodeRecord::nodeId));
        return out;
    }

    private static NodeRecord nodeRecord(Map<String, AttributeValue> item) {
        try {
            long reportedMs = longOf(item, "reported_at_ms");
            return new NodeRecord(str(item, "node_id"), str(item, "node_region"),
                    item.containsKey("pool") ? str(item, "pool") : null, str(item, "address"), str(item, "node_state"),
                    longOf(item, "requests_total"), (int) longOf(item, "in_flight"), (int) longOf(item, "queue_depth"),
                    Instant.ofEpochMilli(reportedMs), Instant.ofEpochSecond(longOf(item, "expires_at")));
        } catch (RuntimeException e) {
            throw new StateException("malformed node item " + item + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<LeaseRecord> lease(String region, String pool) {
        var item = call("read lease " + LeaseRecord.key(region, pool), () -> client.getItem(b -> b.tableName(leasesTable)
                .key(Map.of("lease_key", s(LeaseRecord.key(region, pool)))).consistentRead(true))).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(leaseRecord(region, pool, item));
    }

    private static LeaseRecord leaseRecord(String region, String pool, Map<String, AttributeValue> item) {
        try {
            return new LeaseRecord(region, pool, str(item, "holder"), longOf(item, "epoch"),
                    longOf(item, "lease_version"), Instant.ofEpochMilli(longOf(item, "renewed_at_ms")));
        } catch (RuntimeException e) {
            throw new StateException("malformed lease item " + item + ": " + e.getMessage(), e);
        }
    }

    @Override
    public LeaseWrite acquire(String region, String pool, String holder, OptionalLong expectedVersion, Instant now) {
        String key = LeaseRecord.key(region, pool);
        if (expectedVersion.isEmpty()) {
            var item = Map.of("lease_key", s(key), "holder", s(holder), "epoch", num(1), "lease_version", num(1),
                    "renewed_at_ms", num(now.toEpochMilli()));
            try {
                call("create lease " + key, () -> client.putItem(b -> b.tableName(leasesTable).item(item)
                        .conditionExpression("attribute_not_exists(lease_key)")));
            } catch (ConditionalCheckFailedException e) {
                return new LeaseWrite.Lost();
            }
            return new LeaseWrite.Won(new LeaseRecord(region, pool, holder, 1, 1, now));
        }
        return update(region, pool, "take lease " + key,
                "SET #h = :h, #e = #e + :one, #v = #v + :one, #t = :t", "#v = :v",
                Map.of(":h", s(holder), ":one", num(1), ":t", num(now.toEpochMilli()),
                        ":v", num(expectedVersion.getAsLong())));
    }

    @Override
    public LeaseWrite renew(LeaseRecord held, Instant now) {
        return update(held.region(), held.pool(), "renew lease " + LeaseRecord.key(held.region(), held.pool()),
                "SET #v = #v + :one, #t = :t", "#h = :h AND #e = :e",
                Map.of(":h", s(held.holder()), ":e", num(held.epoch()), ":one", num(1),
                        ":t", num(now.toEpochMilli())));
    }

    @Override
    public void release(LeaseRecord held, Instant now) {
        update(held.region(), held.pool(), "release lease " + LeaseRecord.key(held.region(), held.pool()),
                "SET #h = :none, #v = #v + :one, #t = :t", "#h = :h AND #e = :e",
                Map.of(":h", s(held.holder()), ":e", num(held.epoch()), ":one", num(1), ":none", s(""),
                        ":t", num(now.toEpochMilli())));
    }

    private LeaseWrite update(String region, String pool, String what, String update, String condition,
            Map<String, AttributeValue> values) {
        UpdateItemResponse response;
        try {
            response = call(what, () -> client.updateItem(b -> b.tableName(leasesTable)
                    .key(Map.of("lease_key", s(LeaseRecord.key(region, pool))))
                    .updateExpression(update)
                    .conditionExpression(condition)
                    .expressionAttributeNames(Map.of("#h", "holder", "#e", "epoch", "#v", "lease_version",
                            "#t", "renewed_at_ms"))
                    .expressionAttributeValues(values)
                    .returnValues(ReturnValue.ALL_NEW)));
        } catch (ConditionalCheckFailedException e) {
            return new LeaseWrite.Lost();
        }
        return new LeaseWrite.Won(leaseRecord(region, pool, response.attributes()));
    }

    @Override
    public RecordOutcome recordDecision(String region, String pool, String holder, long epoch, int desired,
            String reason, Instant at) {
        String key = LeaseRecord.key(region, pool);
        var check = ConditionCheck.builder().tableName(leasesTable).key(Map.of("lease_key", s(key)))
                .conditionExpression("#h = :h AND #e = :e")
                .expressionAttributeNames(Map.of("#h", "holder", "#e", "epoch"))
                .expressionAttributeValues(Map.of(":h", s(holder), ":e", num(epoch)))
                .build();
        var put = Put.builder().tableName(decisionsTable)
                .item(Map.of("pool_key", s(key), "holder", s(holder), "epoch", num(epoch), "desired", num(desired),
                        "reason", s(reason), "decided_at_ms", num(at.toEpochMilli())))
                .conditionExpression("attribute_not_exists(pool_key) OR #e <= :e")
                .expressionAttributeNames(Map.of("#e", "epoch"))
                .expressionAttributeValues(Map.of(":e", num(epoch)))
                .build();
        try {
            call("record decision for " + key, () -> client.transactWriteItems(b -> b.transactItems(
                    TransactWriteItem.builder().conditionCheck(check).build(),
                    TransactWriteItem.builder().put(put).build())));
        } catch (TransactionCanceledException e) {
            List<CancellationReason> reasons = e.cancellationReasons();
            if (reasons.size() == 2 && "ConditionalCheckFailed".equals(reasons.get(0).code())) {
                return new Fenced("lease of " + key + " is no longer held by '" + holder + "' at epoch " + epoch);
            }
            if (reasons.size() == 2 && "ConditionalCheckFailed".equals(reasons.get(1).code())) {
                return new Fenced("a decision of a later epoch than " + epoch + " is already recorded for " + key);
            }
            throw new StateException("recording a decision for " + key + " was cancelled: " + reasons, e);
        }
        return new Recorded(epoch);
    }

    @Override
    public Optional<DecisionRecord> lastDecision(String region, String pool) {
        String key = LeaseRecord.key(region, pool);
        var item = call("read decision " + key, () -> client.getItem(b -> b.tableName(decisionsTable)
                .key(Map.of("pool_key", s(key))).consistentRead(true))).item();
        if (item == null || item.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new DecisionRecord(region, pool, str(item, "holder"), longOf(item, "epoch"),
                    (int) longOf(item, "desired"), str(item, "reason"),
                    Instant.ofEpochMilli(longOf(item, "decided_at_ms"))));
        } catch (RuntimeException e) {
            throw new StateException("malformed decision item " + item + ": " + e.getMessage(), e);
        }
    }

    @Override
    public OptionalInt lastDesired(String region, String pool) {
        return lastDecision(region, pool).map(d -> OptionalInt.of(d.desired())).orElse(OptionalInt.empty());
    }

    @Override
    public void putRegionHealth(RegionHealth h) {
        var item = Map.of("region_name", s(h.region()), "ready_nodes", num(h.readyNodes()),
                "total_nodes", num(h.totalNodes()), "reporter", s(h.reporter()),
                "reported_at_ms", num(h.reportedAt().toEpochMilli()), "expires_at", num(h.expiresAt().getEpochSecond()));
        call("write region health " + h.region(), () -> client.putItem(b -> b.tableName(regionsTable).item(item)));
    }

    @Override
    public List<RegionHealth> regions(Instant now) {
        var out = new ArrayList<RegionHealth>();
        call("scan " + regionsTable, () -> client.scanPaginator(b -> b.tableName(regionsTable).consistentRead(true))
                .items().forEach(item -> {
                    try {
                        var h = new RegionHealth(str(item, "region_name"), (int) longOf(item, "ready_nodes"),
                                (int) longOf(item, "total_nodes"), str(item, "reporter"),
                                Instant.ofEpochMilli(longOf(item, "reported_at_ms")),
                                Instant.ofEpochSecond(longOf(item, "expires_at")));
                        if (now.isBefore(h.expiresAt())) {
                            out.add(h);
                        }
                    } catch (RuntimeException e) {
                        throw new StateException("malformed region item " + item + ": " + e.getMessage(), e);
                    }
                }));
        out.sort(Comparator.comparing(RegionHealth::region));
        return out;
    }

    @Override
    public void close() {
        client.close();
    }

    /** Runs one SDK call; conditional failures pass through as values' sources, the rest become {@link StateException}. */
    private static <T> T call(String what, java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (ConditionalCheckFailedException | TransactionCanceledException e) {
            throw e;
        } catch (SdkException e) {
            throw new StateException("DynamoDB: cannot " + what + ": " + e.getMessage(), e);
        }
    }

    private static void call(String what, Runnable call) {
        call(what, () -> {
            call.run();
            return null;
        });
    }

    private static AttributeValue s(String v) {
        return AttributeValue.fromS(v);
    }

    private static AttributeValue num(long v) {
        return AttributeValue.fromN(Long.toString(v));
    }

    private static String str(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        if (v == null || v.s() == null) {
            throw new IllegalArgumentException("attribute " + name + " is missing or not a string");
        }
        return v.s();
    }

    private static long longOf(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        if (v == null || v.n() == null) {
            throw new IllegalArgumentException("attribute " + name + " is missing or not a number");
        }
        return Long.parseLong(v.n());
    }
}
