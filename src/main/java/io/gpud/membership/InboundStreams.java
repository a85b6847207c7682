package io.gpud.membership;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * What inbound gossip streams may hold: connections and reserved frame bytes, in all and per
 * source address, so that one sender cannot take every slot or the whole memory budget and
 * keep members out of push-pull. Every method is one short critical section.
 */
final class InboundStreams {

    /** Why a stream was refused: the name of its rejection counter, and the bound in words. */
    record Refusal(String reason, String detail) {
    }

    /** One address's share. */
    private static final class Usage {
        int connections;
        long bytes;
    }

    private final int maxConnections;
    private final int maxConnectionsPerAddress;
    private final long maxBytes;
    private final long maxBytesPerAddress;
    private final Map<InetAddress, Usage> byAddress = new HashMap<>();
    private int connections;
    private long bytes;

    InboundStreams(int maxConnections, int maxConnectionsPerAddress, long maxBytes, long maxBytesPerAddress) {
        this.maxConnections = maxConnections;
        this.maxConnectionsPerAddress = maxConnectionsPerAddress;
        this.maxBytes = maxBytes;
        this.maxBytesPerAddress = maxBytesPerAddress;
    }

    /** Takes a connection slot for {@code from}; null when taken, else why not. */
    synchronized Refusal open(InetAddress from) {
        if (connections >= maxConnections) {
            return new Refusal("stream_connections", maxConnections + " connections already being read");
        }
        Usage u = byAddress.computeIfAbsent(from, a -> new Usage());
        if (u.connections >= maxConnectionsPerAddress) {
            return new Refusal("stream_source_connections", maxConnectionsPerAddress
                    + " connections from this address already being read");
        }
        u.connections++;
        connections++;
        return null;
    }

    /** Gives back a slot {@link #open} took. */
    synchronized void close(InetAddress from) {
        connections--;
        Usage u = byAddress.get(from);
        u.connections--;
        forgetIfIdle(from, u);
    }

    /** Reserves {@code len} bytes of frame for {@code from}; null when reserved, else why not. */
    synchronized Refusal reserve(InetAddress from, int len) {
        if (bytes + len > maxBytes) {
            return new Refusal("stream_memory", "a frame of " + len + " bytes with " + (maxBytes - bytes) + " of "
                    + maxBytes + " bytes left for frames");
        }
        Usage u = byAddress.computeIfAbsent(from, a -> new Usage());
        if (u.bytes + len > maxBytesPerAddress) {
            forgetIfIdle(from, u);
            return new Refusal("stream_source_memory", "a frame of " + len + " bytes with " + u.bytes + " of "
                    + maxBytesPerAddress + " bytes per address already held by frames from it");
        }
        u.bytes += len;
        bytes += len;
        return null;
    }

    /** Gives back bytes {@link #reserve} took. */
    synchronized void release(InetAddress from, int len) {
        if (len == 0) {
            return;
        }
        bytes -= len;
        Usage u = byAddress.get(from);
        u.bytes -= len;
        forgetIfIdle(from, u);
    }

    /** Bytes reserved now, all addresses together. */
    synchronized long reservedBytes() {
        return bytes;
    }

    private void forgetIfIdle(InetAddress from, Usage u) {
        if (u.connections == 0 && u.bytes == 0) {
            byAddress.remove(from);
        }
    }
}
