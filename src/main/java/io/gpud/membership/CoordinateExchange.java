package io.gpud.membership;

import java.time.Duration;

/**
 * What the protocol needs to carry network coordinates: this node's own, sent with every
 * ack it answers a direct ping with, and a receiver for each direct probe's round trip
 * together with the coordinate the probed member sent back. Both are called on the gossip
 * thread and must return quickly.
 */
public interface CoordinateExchange {

    /** This node's coordinate now. */
    NetworkCoordinate local();

    /** A direct probe of {@code node} took {@code rtt}; {@code remote} is the coordinate it acked with. */
    void observed(String node, Duration rtt, NetworkCoordinate remote);
}
