package io.gpud.membership;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * All of one node's membership as a single pure state machine: its LAN pool
 * ({@link SwimProtocol}) and its side of the WAN federation ({@link RegionFederation}, or
 * {@link Federation#OFF}). It owns no thread, reads no clock and opens no socket; its
 * driver runs it as a poll loop, in the shape of Kafka's {@code KafkaRaftClient.poll()}:
 * ask {@link #nextDeadline()}, wait for a packet until then, hand over what arrived
 * ({@link #onPacket}, {@link #onStream}) and run the due timers ({@link #onTimers}), each
 * with the current time in nanoseconds. {@link MembershipAgent} drives it over real
 * sockets; the simulator in the tests drives the same class over a simulated network, so
 * bridge election and summary relay are tested at the size they run at.
 */
final class MembershipStateMachine {

    /** Which of a node's two gossip ports a packet came in on. */
    enum Pool { LAN, WAN }

    private final SwimProtocol lan;
    private final Federation federation;
    /** Told of every keyring a cluster operation produced here (the daemon writes it to disk). */
    private Consumer<Keyring> keyringChanges = k -> { };

    MembershipStateMachine(SwimProtocol lan, Federation federation) {
        this.lan = lan;
        this.federation = federation;
        lan.onKeyringChange(k -> {
            federation.setKeyring(k);
            keyringChanges.accept(k);
        });
    }

    // ---------------------------------------------------------------- driver interface

    /** The earliest time at which {@link #onTimers} has work. */
    long nextDeadline() {
        return Math.min(lan.nextDeadline(), federation.nextDeadline());
    }

    /** Runs every timer due at {@code now}: the LAN pool's, then the federation's. */
    void onTimers(long now) {
        lan.onTimers(now);
        federation.onTimers(now);
    }

    /** A datagram arrived on {@code pool}'s port. */
    void onPacket(Pool pool, InetSocketAddress from, byte[] packet, long now) {
        switch (pool) {
            case LAN -> lan.onPacket(from, packet, now);
            case WAN -> federation.onPacket(from, packet, now);
        }
    }

    /** A stream message arrived on {@code pool}'s port. */
    void onStream(Pool pool, InetSocketAddress from, byte[] frame, long now) {
        switch (pool) {
            case LAN -> lan.onStream(from, frame, now);
            case WAN -> federation.onStream(from, frame, now);
        }
    }

    // ---------------------------------------------------------------- commands

    /** New metadata for this node, gossiped in both pools. */
    void updateMetadata(NodeMetadata metadata, long now) {
        lan.updateMetadata(metadata, now);
        federation.updateMetadata(metadata, now);
    }

    /** A keyring set by this node's operator, for both pools. */
    void setKeyring(Keyring next) {
        lan.setKeyring(next);
        federation.setKeyring(next);
    }

    /**
     * Applies a keyring operation here and gossips it to the region (see
     * {@link ClusterKeyring}); the WAN pool follows. Returns the keyring now.
     *
     * @throws IllegalArgumentException when the operation does not apply here
     */
    Keyring clusterKeyOp(Message.KeyOp.Operation op, String key) {
        Keyring next = lan.clusterKeyOp(op, key);
        federation.setKeyring(next);
        return next;
    }

    /** Keyrings produced by cluster operations other members made go to {@code sink}. */
    void onKeyringChange(Consumer<Keyring> sink) {
        keyringChanges = sink;
    }

    /** From now on, ack direct pings with this node's coordinate and report probe round trips. */
    void exchangeCoordinates(CoordinateExchange exchange) {
        lan.exchangeCoordinates(exchange);
    }

    /** Says goodbye in both pools; after this the node only listens. */
    void leave(long now) {
        lan.leave(now);
        federation.leave(now);
    }

    // ---------------------------------------------------------------- views

    Keyring keyring() {
        return lan.keyring();
    }

    /** True once since the last call if the member table changed in a way a snapshot shows. */
    boolean takeChanged() {
        return lan.takeChanged();
    }

    /** The LAN members, this node included, sorted by id. */
    List<MemberView> snapshot(long now) {
        return lan.snapshot(now);
    }

    /** True once since the last call if the region summaries changed. */
    boolean takeSummariesChanged() {
        return federation.takeSummariesChanged();
    }

    /** The newest summary per region; {@code wallNow} is the wall clock at {@code now}. */
    Map<String, RegionSummary> regionSummaries(long now, Instant wallNow) {
        return federation.summaries(now, wallNow);
    }

    /** Whether this node is now one of its region's bridges. */
    boolean bridge() {
        return federation.bridge();
    }

    /** Lifeguard's local health score of the LAN pool: 0 is healthy. */
    int awareness() {
        return lan.awareness();
    }

    /** The LAN pool protocol, for the simulator's invariants. */
    SwimProtocol lan() {
        return lan;
    }

    /** The federation, for the simulator's observations. */
    Federation federation() {
        return federation;
    }
}
