/**
 * Cross-region state: the node registry, per-region per-pool leader leases, scaling
 * decisions and region health.
 *
 * <p>{@link io.gpud.state.StateStore} is the interface; {@link io.gpud.state.DynamoStateStore}
 * keeps it in DynamoDB (global tables in production, DynamoDB Local in tests) and
 * {@link io.gpud.state.EmbeddedStateStore} in this process for a single node. Both give
 * the same conditional-write semantics. {@link io.gpud.state.LeaderLease} elects one
 * leader per region per pool on top of them; its class comment is the design.
 *
 * <p>This package may use {@code scaling} (whose {@code ScalingState} and
 * {@code Leadership} it implements), {@code audit}, {@code metrics}, {@code config} and
 * {@code core}. The AWS SDK stays inside it.
 */
package io.gpud.state;
