package io.gpud.membership;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * One member as this node sees it, in an immutable snapshot.
 *
 * @param node        its id
 * @param address     its gossip address
 * @param state       alive, suspect, dead or left
 * @param incarnation its incarnation number: raised by the member itself to refute a
 *                    suspicion or to announce new metadata
 * @param metadata    what it gossips about itself
 * @param rtt         the smoothed round-trip time of direct probes, or null if none yet
 * @param load        its newest load record, or null if none yet
 * @param loadAge     how long ago that record arrived, by this node's clock (null with no load)
 */
public record MemberView(String node, InetSocketAddress address, MemberState state, long incarnation,
                         NodeMetadata metadata, Duration rtt, LoadRecord load, Duration loadAge) {

    /** Alive or suspect: still a member. */
    public boolean live() {
        return state == MemberState.ALIVE || state == MemberState.SUSPECT;
    }
}
