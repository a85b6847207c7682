package io.gpud.membership;

import java.net.InetSocketAddress;

/**
 * How the protocol reaches other members. Sending never blocks the protocol loop and
 * never throws: a packet that cannot be sent is as lost as one dropped by the network.
 * Received bytes come back through the driver ({@link MembershipAgent} for real sockets,
 * the simulator in tests), which hands them to the protocol on its own thread.
 */
public interface Transport {

    /** Best effort, one datagram (UDP). */
    void sendPacket(InetSocketAddress to, byte[] packet);

    /** Reliable one-way message, delivered whole or not at all (one TCP connection). */
    void sendStream(InetSocketAddress to, byte[] frame);
}
