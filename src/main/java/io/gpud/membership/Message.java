package io.gpud.membership;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * What travels between members, decoded. UDP packets carry pings, acks, gossip and load
 * records (several may share one packet as a {@link Compound}); TCP streams carry
 * {@link PushPull} full-state exchanges.
 */
sealed interface Message {

    /** Are you alive? {@code target} guards against a reused address answering for another node. */
    record Ping(int seq, String target, String source, InetSocketAddress sourceAddress) implements Message {
    }

    /** Please ping {@code target} for me and forward its ack; nack if it stays silent. */
    record IndirectPing(int seq, String target, InetSocketAddress targetAddress, boolean wantNack, String source,
                        InetSocketAddress sourceAddress) implements Message {
    }

    /** The answer to a ping, direct or relayed. */
    record Ack(int seq) implements Message {
    }

    /** A relay could not reach the target: the relay itself is healthy (Lifeguard). */
    record Nack(int seq) implements Message {
    }

    /** {@code node} is alive at this incarnation, with this address and metadata. */
    record Alive(long incarnation, String node, InetSocketAddress address, byte[] metadata) implements Message {
    }

    /** {@code from} suspects {@code node} at this incarnation. */
    record Suspect(long incarnation, String node, String from) implements Message {
    }

    /** {@code node} is dead at this incarnation; {@code from == node} means it left. */
    record Dead(long incarnation, String node, String from) implements Message {
        boolean left() {
            return node.equals(from);
        }
    }

    /** The sender's network coordinate, sent just before its ack to a direct ping. */
    record Coordinate(String node, NetworkCoordinate coordinate) implements Message {
    }

    /** A member's fast load record, sent directly to region peers, never gossiped. */
    record Load(LoadRecord record) implements Message {
    }

    /**
     * A region's summary, made once a second by a bridge and sent across the WAN pool;
     * bridges relay the ones they receive to their region peers. {@code bridgeWan} is the
     * WAN address of the bridge that made it: a newly elected bridge can join through it.
     */
    record Summary(String region, String bridge, InetSocketAddress bridgeWan, long sequence, int healthyHosts,
                   int capacity, List<RegionSummary.ModelHosts> models) implements Message {
        public Summary {
            models = List.copyOf(models);
        }
    }

    /**
     * A keyring operation for the whole cluster, gossiped like a membership change and
     * applied once by every member ({@code id} tells repeats apart). It travels sealed
     * under the cluster's key, which is what authenticates it.
     */
    record KeyOp(long id, Operation op, String key) implements Message {
        /** Install (accept), use (seal with; installs first), remove (stop accepting; not the primary). */
        enum Operation { INSTALL, USE, REMOVE }
    }

    /** Full state of the sender, sent over TCP; {@code join} asks for the receiver's in return. */
    record PushPull(boolean join, boolean reply, String source, InetSocketAddress sourceAddress,
                    List<MemberEntry> members) implements Message {
        public PushPull {
            members = List.copyOf(members);
        }
    }

    /** Several messages in one packet. */
    record Compound(List<Message> parts) implements Message {
        public Compound {
            parts = List.copyOf(parts);
        }
    }

    /** One member as a push-pull carries it. */
    record MemberEntry(String node, InetSocketAddress address, long incarnation, MemberState state,
                       byte[] metadata) {
    }
}
