package io.gpud.membership;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Map;

/**
 * A node's side of the WAN federation of regions, driven by {@link MembershipStateMachine}
 * on the protocol thread with the current time: {@link RegionFederation} where the WAN pool
 * is on, {@link #OFF} where it is not.
 */
interface Federation {

    /** The earliest time at which {@link #onTimers} has work. */
    long nextDeadline();

    /** Runs every timer due at {@code now}. */
    void onTimers(long now);

    /** A datagram on the WAN pool's port. */
    void onPacket(InetSocketAddress from, byte[] packet, long now);

    /** A stream message on the WAN pool's port. */
    void onStream(InetSocketAddress from, byte[] frame, long now);

    /** This node's new metadata (its region may have changed). */
    void updateMetadata(NodeMetadata metadata, long now);

    /** The keyring the LAN pool now uses; the WAN pool follows it. */
    void setKeyring(Keyring keyring);

    /** This node is leaving: says goodbye to the WAN pool if it is in it. */
    void leave(long now);

    /** Whether this node is now one of its region's bridges. */
    boolean bridge();

    /** True once since the last call if the region summaries changed. */
    boolean takeSummariesChanged();

    /**
     * The newest summary of every region this node knows, its own included, keyed by
     * region; {@code wallNow} is the wall clock at {@code now}, to date each one.
     */
    Map<String, RegionSummary> summaries(long now, Instant wallNow);

    /** No WAN pool: nothing to run, no summaries. */
    Federation OFF = new Federation() {
        @Override
        public long nextDeadline() {
            return Long.MAX_VALUE;
        }

        @Override
        public void onTimers(long now) {
        }

        @Override
        public void onPacket(InetSocketAddress from, byte[] packet, long now) {
        }

        @Override
        public void onStream(InetSocketAddress from, byte[] frame, long now) {
        }

        @Override
        public void updateMetadata(NodeMetadata metadata, long now) {
        }

        @Override
        public void setKeyring(Keyring keyring) {
        }

        @Override
        public void leave(long now) {
        }

        @Override
        public boolean bridge() {
            return false;
        }

        @Override
        public boolean takeSummariesChanged() {
            return false;
        }

        @Override
        public Map<String, RegionSummary> summaries(long now, Instant wallNow) {
            return Map.of();
        }
    };
}
