package io.gpud.membership;

import io.gpud.membership.MembershipAgent.ClusterKeyOperation;
import io.gpud.membership.MembershipAgent.KeyringChange;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * This node's view of the cluster and its voice in it: {@link MembershipAgent} when gossip
 * is on, {@link #disabled()} when {@code gossip.enabled} is false (a node alone).
 */
public interface Membership extends AutoCloseable {

    /** The bound gossip port; -1 when alone. */
    int port();

    /** The members as this node sees them, itself included, sorted by id; empty when alone. */
    List<MemberView> members();

    /** The newest summary of every region this node knows, keyed by region. */
    Map<String, RegionSummary> regionSummaries();

    /** Gossips new metadata (a new incarnation). */
    void updateMetadata(NodeMetadata metadata);

    /** Carries network coordinates from now on (see {@link MembershipAgent#exchangeCoordinates}). */
    void exchangeCoordinates(CoordinateExchange exchange);

    /** The keyring's keys, base64, the primary first. */
    List<String> keys();

    /** Adds a key that is accepted on receipt but not yet used to send. */
    KeyringChange installKey(String key);

    /** Makes an installed key the one every packet is sealed with. */
    KeyringChange useKey(String key);

    /** Drops a key that is not the primary. */
    KeyringChange removeKey(String key);

    /** Applies a keyring operation here and gossips it to every member. */
    KeyringChange changeClusterKeyring(ClusterKeyOperation operation, String key);

    /** Tells every member this node is leaving, then stops after {@code grace}. */
    void leave(Duration grace);

    @Override
    void close();

    /** A node alone: no members, no summaries, nothing to gossip, no keyring. */
    static Membership disabled() {
        return Disabled.INSTANCE;
    }

    /** What {@link #disabled()} is. */
    enum Disabled implements Membership {
        INSTANCE;

        private static final KeyringChange OFF = new KeyringChange.Refused("gossip is disabled on this node");

        @Override
        public int port() {
            return -1;
        }

        @Override
        public List<MemberView> members() {
            return List.of();
        }

        @Override
        public Map<String, RegionSummary> regionSummaries() {
            return Map.of();
        }

        @Override
        public void updateMetadata(NodeMetadata metadata) {
        }

        @Override
        public void exchangeCoordinates(CoordinateExchange exchange) {
        }

        @Override
        public List<String> keys() {
            return List.of();
        }

        @Override
        public KeyringChange installKey(String key) {
            return OFF;
        }

        @Override
        public KeyringChange useKey(String key) {
            return OFF;
        }

        @Override
        public KeyringChange removeKey(String key) {
            return OFF;
        }

        @Override
        public KeyringChange changeClusterKeyring(ClusterKeyOperation operation, String key) {
            return OFF;
        }

        @Override
        public void leave(Duration grace) {
        }

        @Override
        public void close() {
        }
    }
}
