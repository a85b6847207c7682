package io.gpud.membership;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;

/**
 * What one region looks like from afar: carried once a second across the WAN pool by the
 * region's bridges, and relayed by the bridges of every other region to their peers. An
 * immutable value; {@link MembershipAgent#regionSummaries()} holds the newest per region.
 *
 * @param region       the region summarized
 * @param healthyHosts its members alive (suspects included) as its bridge sees them
 * @param capacity     the concurrent sequences those members offer together
 * @param models       per model served there, the least-loaded READY hosts, sorted by name
 * @param bridge       the node id of the bridge that made the summary
 * @param sequence     increases with every summary that bridge makes
 * @param receivedAt   when this node got it (its own clock; for the local region, when it
 *                     was computed)
 * @param bridgeWan    that bridge's WAN pool address
 */
public record RegionSummary(String region, int healthyHosts, int capacity, List<ModelHosts> models, String bridge,
                            long sequence, Instant receivedAt, InetSocketAddress bridgeWan) {

    /** The most hosts listed per model. */
    public static final int MAX_HOSTS_PER_MODEL = 8;
    /** The most models listed per region. */
    public static final int MAX_MODELS = 32;

    public RegionSummary {
        models = List.copyOf(models);
    }

    /** The least-loaded READY hosts of one model in the region, least loaded first. */
    public record ModelHosts(String model, List<Host> hosts) {
        public ModelHosts {
            hosts = List.copyOf(hosts);
        }
    }

    /**
     * One host serving a model.
     *
     * @param nodeId      its id
     * @param dataAddress {@code host:port} where forwarded requests go: its peer listener
     *                    (mutual TLS) when the region forwards over peer TLS (a host without
     *                    one is not listed), else its data-plane listener
     * @param queueDepth  sequences waiting, from its newest load record (0 with none)
     * @param inFlight    sequences generating, from its newest load record (0 with none)
     * @param capacity    concurrent sequences it offers
     */
    public record Host(String nodeId, String dataAddress, int queueDepth, int inFlight, int capacity) {
    }
}
