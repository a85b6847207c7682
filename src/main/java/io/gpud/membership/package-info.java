/**
 * Cluster membership: SWIM failure detection and gossip with the Lifeguard extensions,
 * per-member metadata, the fast load channel, and the WAN federation of regions.
 *
 * <p>Start with {@link io.gpud.membership.MembershipAgent}, the entry point the node
 * starts: it binds the gossip ports and drives a {@code MembershipStateMachine}, which
 * makes every decision and owns no thread, clock or socket, so the deterministic
 * simulator in the tests drives the same class over a simulated network. Inside it,
 * {@code SwimProtocol} runs the LAN pool (its header explains the algorithm, with
 * {@code MemberTable}, {@code Suspicion}, {@code BroadcastQueue} and
 * {@code ClusterKeyring} as its parts), and with the WAN pool on, {@code RegionFederation}
 * elects the region's bridges ({@code RegionBridges}), runs a second {@code SwimProtocol}
 * while this node is one of them, and makes, sends and relays the summaries.
 * {@link io.gpud.membership.Keyring} seals every packet with AES-256-GCM;
 * {@link io.gpud.membership.MemberView} and {@link io.gpud.membership.RegionSummary} are
 * what readers see.
 */
package io.gpud.membership;
