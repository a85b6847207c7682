package io.gpud.membership;

import java.net.InetSocketAddress;

/**
 * One entry of a {@link SwimProtocol}'s member table: what this node believes about one
 * member. Mutable and touched only by the protocol's thread; everything outside the
 * protocol reads members as {@link MemberView}s.
 */
final class Member {
    final String name;
    InetSocketAddress address;
    long incarnation;
    MemberState state;
    /** The metadata as gossiped, and decoded (unknown when the bytes do not decode). */
    byte[] metadataBytes;
    NodeMetadata metadata;
    /** When {@link #state} last changed, on the protocol's clock. */
    long stateSinceNanos;
    /** Smoothed round trip of direct probes; -1 before the first. */
    long rttNanos = -1;
    LoadRecord load;
    long loadReceivedNanos;
    NetworkCoordinate coordinate;

    Member(String name, InetSocketAddress address, long incarnation, MemberState state, byte[] metadata, long now) {
        this.name = name;
        this.address = address;
        this.incarnation = incarnation;
        this.state = state;
        setMetadata(metadata);
        this.stateSinceNanos = now;
    }

    /** Keeps the bytes as gossiped and their decoded form. */
    void setMetadata(byte[] bytes) {
        NodeMetadata decoded;
        try {
            decoded = NodeMetadata.decode(bytes);
        } catch (WireFormatException e) {
            decoded = NodeMetadata.unknown("");
        }
        metadataBytes = bytes;
        metadata = decoded;
    }

    /** Alive or suspect: still a member. */
    boolean live() {
        return state == MemberState.ALIVE || state == MemberState.SUSPECT;
    }
}
