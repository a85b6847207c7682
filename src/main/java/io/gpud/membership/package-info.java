/**
 * Cluster membership: SWIM failure detection and gossip with the Lifeguard extensions,
 * per-member metadata, and the fast load channel.
 *
 * <p>Start with {@link io.gpud.membership.MembershipAgent}, the entry point the node
 * starts: it binds the gossip port and drives the protocol. The protocol itself is
 * {@code SwimProtocol}, whose header explains the algorithm; it owns no thread, clock or
 * socket, so the deterministic simulator in the tests drives the same class with a
 * simulated network. {@link io.gpud.membership.Keyring} seals every packet with
 * AES-256-GCM; {@link io.gpud.membership.MemberView} is what readers see. With the WAN
 * pool on, the agent also runs a second {@code SwimProtocol} while this node is one of
 * its region's bridges ({@code RegionBridges} elects them and builds the summaries) and
 * keeps the newest {@link io.gpud.membership.RegionSummary} per region.
 */
package io.gpud.membership;
