package io.gpud.config;

import java.nio.file.Path;
import java.util.List;

/**
 * Where and how this node gossips, and what it tells the cluster about itself.
 *
 * @param enabled          false runs a single node with no gossip listener
 * @param bindAddress      address of the UDP and TCP gossip listeners
 * @param port             gossip port, UDP and TCP (0 picks a free one)
 * @param advertiseAddress the address peers use to reach this node; unset: the bind
 *                         address, or the loopback address when binding to 0.0.0.0
 * @param join             seed addresses {@code host:port} tried at start; the first that
 *                         answers gives this node the whole member list
 * @param keyringFile      the gossip keyring (base64 AES-256 keys, one a line, the first
 *                         is the one used to encrypt); unset: gossip is neither encrypted nor
 *                         authenticated, which the node refuses unless {@code insecure}
 * @param insecure         true: this node may run its cluster traffic unauthenticated (gossip
 *                         with no keyring, forwards without peer TLS); for demos and tests only,
 *                         and refused with {@code secure.environment: production}
 * @param profile          lan, wan or loopback: the protocol timing ({@link #timing()})
 * @param availabilityZone the node's AZ, gossiped as metadata
 * @param subnet           the node's subnet, gossiped as metadata
 * @param vpc              the node's VPC, gossiped as metadata
 * @param capacity         concurrent sequences this node offers, gossiped as metadata
 * @param wanEnabled       true: this node may be elected a bridge of its region and then
 *                         joins the WAN pool that carries region summaries across regions
 * @param wanPort          the WAN pool port, UDP and TCP (0 picks a free one)
 * @param wanJoin          WAN seeds {@code host:wanPort}: bridges of other regions
 * @param wanBridges       bridges per region: its live members with the lowest ids
 */
public record GossipConfig(
        boolean enabled,
        String bindAddress,
        int port,
        String advertiseAddress,
        List<String> join,
        Path keyringFile,
        boolean insecure,
        Profile profile,
        String availabilityZone,
        String subnet,
        String vpc,
        int capacity,
        boolean wanEnabled,
        int wanPort,
        List<String> wanJoin,
        int wanBridges) {

    /** {@code gossip.profile}: the protocol timing for one kind of network. */
    public enum Profile {
        LAN, WAN, LOOPBACK;

        /** {@link MembershipConfig#lan()}, {@link MembershipConfig#wan()} or {@link MembershipConfig#loopback()}. */
        public MembershipConfig timing() {
            return switch (this) {
                case LAN -> MembershipConfig.lan();
                case WAN -> MembershipConfig.wan();
                case LOOPBACK -> MembershipConfig.loopback();
            };
        }
    }

    /** The default gossip port, UDP and TCP. */
    public static final int DEFAULT_PORT = 7946;

    public GossipConfig {
        Validate.notBlank("gossip.bindAddress", bindAddress);
        Validate.port("gossip.port", port);
        join = List.copyOf(join);
        checkSeeds("gossip.join", join);
        Validate.port("gossip.wanPort", wanPort);
        wanJoin = List.copyOf(wanJoin);
        checkSeeds("gossip.wanJoin", wanJoin);
        Validate.range("gossip.wanBridges", wanBridges, 1, 16);
        Validate.notNull("gossip.profile", profile);
        Validate.range("gossip.capacity", capacity, 0, 1_000_000);
    }

    private static void checkSeeds(String key, List<String> seeds) {
        for (String seed : seeds) {
            int colon = seed.lastIndexOf(':');
            if (colon <= 0 || !seed.substring(colon + 1).matches("\\d{1,5}")
                    || Integer.parseInt(seed.substring(colon + 1)) > 65535) {
                throw ConfigException.invalid(key, "entry was '" + seed + "', must be HOST:PORT");
            }
        }
    }

    /**
     * Refuses to gossip unauthenticated unless asked to: with gossip on, there must be a
     * keyring or {@code insecure}. Checked when the node starts rather than when the file
     * loads, so that client commands ({@code gpud status --config}) read any file.
     *
     * @throws ConfigException naming both settings
     */
    public void requireAuthentication() {
        if (enabled && keyringFile == null && !insecure) {
            throw new ConfigException("gossip.keyringFile is unset and gossip.insecure is false: gossip would be "
                    + "neither authenticated nor encrypted, and any host that can send to the gossip port could join "
                    + "the cluster and be sent its requests. Set gossip.keyringFile (gpud keyring generate"
                    + " > FILE, the same file on every host), or for a demo or a test set gossip.insecure: true "
                    + "(gpud run --insecure-cluster)");
        }
    }

    /** The protocol timing of {@link #profile()}. */
    public MembershipConfig timing() {
        return profile.timing();
    }

    /** The default WAN pool port, UDP and TCP. */
    public static final int DEFAULT_WAN_PORT = 7947;

    /**
     * Defaults: gossip on 0.0.0.0:7946 with the LAN profile, no seeds, no keyring and not
     * insecure (so a node needs one or the other to start, see {@link #requireAuthentication});
     * no WAN pool (when enabled: port 7947, three bridges per region).
     */
    public static GossipConfig defaults() {
        return new GossipConfig(true, "0.0.0.0", DEFAULT_PORT, null, List.of(), null, false, Profile.LAN, "", "", "", 0,
                false, DEFAULT_WAN_PORT, List.of(), 3);
    }

    /** This configuration with the WAN pool on, through these seeds. */
    public GossipConfig withWan(int port, List<String> seeds, int bridges) {
        return new GossipConfig(enabled, bindAddress, this.port, advertiseAddress, join, keyringFile, insecure, profile,
                availabilityZone, subnet, vpc, capacity, true, port, seeds, bridges);
    }
}
