package io.gpud.config;

import java.time.Duration;

/**
 * The timing and sizing of the SWIM + Lifeguard protocol: one profile per kind of network.
 * Named factories hold the defaults ({@link #lan()}, {@link #wan()}, {@link #loopback()}),
 * chosen by {@code gossip.profile} ({@link GossipConfig.Profile});
 * each value is commented where it is set. Every field says what raising or lowering it
 * costs.
 *
 * @param probeInterval        time between two probes of this node (one random member
 *                             each). Lower detects failures sooner and sends more packets:
 *                             each probe costs a ping and an ack, so traffic is about
 *                             {@code 2 / probeInterval} packets per second per node
 * @param probeTimeout         how long to wait for the direct ack before asking
 *                             {@code indirectChecks} peers to ping the target. Should be
 *                             above the 99th percentile RTT; lower makes a slow network
 *                             look like a failed node
 * @param indirectChecks       k: peers asked to ping a target that did not answer directly.
 *                             Higher tolerates more packet loss (a false suspicion needs
 *                             the direct and all k indirect paths to fail) and costs k
 *                             ping-req/ping/ack/forward packets per failed probe
 * @param suspicionMult        the suspicion timeout floor is
 *                             {@code suspicionMult × max(1, log10(N)) × probeInterval}; a
 *                             suspected node that does not refute within the timeout is
 *                             declared dead. Higher gives a slow node more time to refute
 *                             and detects a crash later
 * @param suspicionMaxMult     the timeout starts at {@code suspicionMaxMult × floor} and
 *                             shrinks toward the floor as independent confirmations
 *                             arrive: after c of the expected K = min(k, N − 2)
 *                             confirmations it is {@code max − (max − min) × log(c + 1) /
 *                             log(K + 1)} (Lifeguard). Higher protects a lone accuser's
 *                             victim longer
 * @param retransmitMult       each gossiped update is piggybacked
 *                             {@code retransmitMult × ceil(log10(N + 1))} times. Higher
 *                             spreads updates more reliably at more bytes per packet
 * @param gossipInterval       time between two gossip rounds, each sending queued updates
 *                             to {@code gossipNodes} random members. Lower converges
 *                             metadata faster and sends more packets while updates are
 *                             queued (nothing is sent when the queue is empty)
 * @param gossipNodes          members per gossip round
 * @param pushPullInterval     time between two full-state exchanges over TCP with one
 *                             random member; repairs whatever gossip missed. Lower costs
 *                             N × state-size bytes more often
 * @param awarenessMax         Lifeguard's local health score ranges over
 *                             {@code [0, awarenessMax)}; probe timeouts and intervals are
 *                             multiplied by {@code score + 1}, so a node that misses its own
 *                             acks (CPU starved, overloaded) slows down instead of accusing
 *                             healthy peers. Higher backs off more
 * @param deadRetention        how long a dead or left member stays in the table (so its
 *                             death keeps spreading and a stale alive is ignored) before it
 *                             is forgotten
 * @param loadInterval         period of the fast load channel: a ~64-byte load record to
 *                             every region peer. Lower makes load fresher and costs
 *                             {@code N / loadInterval} packets per second per node
 * @param maxMetadataBytes     largest metadata a node may gossip; larger is refused when set
 * @param maxPacketBytes       largest UDP payload sent or accepted, before encryption
 */
public record MembershipConfig(
        Duration probeInterval,
        Duration probeTimeout,
        int indirectChecks,
        int suspicionMult,
        int suspicionMaxMult,
        int retransmitMult,
        Duration gossipInterval,
        int gossipNodes,
        Duration pushPullInterval,
        int awarenessMax,
        Duration deadRetention,
        Duration loadInterval,
        int maxMetadataBytes,
        int maxPacketBytes) {

    public MembershipConfig {
        Validate.positive("gossip.probeInterval", probeInterval);
        Validate.positive("gossip.probeTimeout", probeTimeout);
        if (probeTimeout != null && probeInterval != null && probeTimeout.compareTo(probeInterval) >= 0) {
            throw new ConfigException("gossip.probeTimeout was " + probeTimeout + ", must be shorter than "
                    + "gossip.probeInterval " + probeInterval);
        }
        Validate.range("gossip.indirectChecks", indirectChecks, 0, 16);
        Validate.range("gossip.suspicionMult", suspicionMult, 1, 100);
        Validate.range("gossip.suspicionMaxMult", suspicionMaxMult, 1, 100);
        Validate.range("gossip.retransmitMult", retransmitMult, 1, 100);
        Validate.positive("gossip.gossipInterval", gossipInterval);
        Validate.range("gossip.gossipNodes", gossipNodes, 1, 64);
        Validate.positive("gossip.pushPullInterval", pushPullInterval);
        Validate.range("gossip.awarenessMax", awarenessMax, 1, 64);
        Validate.positive("gossip.deadRetention", deadRetention);
        Validate.positive("gossip.loadInterval", loadInterval);
        Validate.range("gossip.maxMetadataBytes", maxMetadataBytes, 64, 16 * 1024);
        Validate.range("gossip.maxPacketBytes", maxPacketBytes, 512, 65_000);
    }

    /** A region's network: sub-millisecond RTTs, up to a few hundred hosts. */
    public static MembershipConfig lan() {
        return new MembershipConfig(
                Duration.ofMillis(500),   // probe each second twice: crash → suspect in ~0.5–1 s
                Duration.ofMillis(300),   // far above an in-VPC RTT, below the interval
                3,                        // k = 3 indirect probes
                4,                        // floor at N=200: 4 × 2.3 × 0.5 s ≈ 4.6 s
                3,                        // a lone accuser waits up to ~14 s
                4,                        // N=200: 4 × 3 = 12 transmissions per update
                Duration.ofMillis(200),   // 5 rounds a second while updates are queued
                3,                        // fan-out per round: ~log N rounds reach everyone
                Duration.ofSeconds(30),   // full-state repair twice a minute
                8,                        // up to 8× slower probing when unhealthy
                Duration.ofMinutes(2),    // dead entries kept two minutes
                Duration.ofMillis(250),   // four load records a second
                1024,                     // metadata: address, topology, models, capacity
                1400);                    // fits an Ethernet MTU after encryption
    }

    /** The cross-region bridge pool: tens of milliseconds of RTT, a handful of hosts. */
    public static MembershipConfig wan() {
        return new MembershipConfig(
                Duration.ofSeconds(1),    // probe once a second
                Duration.ofMillis(600),   // cross-region RTTs reach 200–300 ms
                3,                        // k = 3
                3,                        // floor at N=9: 3 × 1 × 1 s = 3 s
                2,                        // a lone accuser waits 6 s
                4,                        // 4 × 1 = 4 transmissions per update
                Duration.ofMillis(200),   // 5 rounds a second while updates are queued
                4,                        // fan-out per round
                Duration.ofSeconds(30),   // full-state repair twice a minute
                8,                        // up to 8× slower probing when unhealthy
                Duration.ofMinutes(5),    // dead entries kept five minutes
                Duration.ofSeconds(1),    // region summaries once a second
                1024,
                1400);
    }

    /** Several processes on one machine: short intervals so tests finish quickly. */
    public static MembershipConfig loopback() {
        return new MembershipConfig(
                Duration.ofMillis(400),   // probe two and a half times a second
                Duration.ofMillis(200),   // loopback RTT is µs; this covers GC and a busy CI machine
                3,
                4,                        // floor at N=5: 4 × 1 × 0.4 s = 1.6 s
                3,                        // a lone accuser waits 4.8 s
                4,
                Duration.ofMillis(50),
                3,
                Duration.ofSeconds(5),
                8,
                Duration.ofSeconds(30),
                Duration.ofMillis(250),
                1024,
                1400);
    }
}
