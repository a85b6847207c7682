package io.gpud.membership;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The two rules of the WAN pool, pure functions of a LAN member table (as immutable
 * views) so that every
 * member of a region reaches the same answer without talking about it. <em>Election</em>:
 * the bridges of a region are its {@code count} live members with the lowest node ids;
 * when one dies or leaves, the next id takes its place as soon as the death has spread.
 * <em>Summary</em>: a region's live members, their capacity, and per model the
 * least-loaded READY hosts (by sequences queued and in flight per unit of capacity),
 * trimmed until the summary fits one datagram. A host is listed where forwards reach it the
 * way this node sends them: with peer TLS at its peer listener (a host without one is left
 * out: TLS to its plain data port could only fail), without at its data port.
 */
final class RegionBridges {

    private RegionBridges() {
    }

    /** The bridges of {@code region}, lowest id first. */
    static List<String> elect(Collection<MemberView> members, String region, int count) {
        return members.stream().filter(m -> m.live() && region.equals(m.metadata().region())).map(MemberView::node)
                .sorted().limit(count).toList();
    }

    /**
     * The summary of {@code region} from this table.
     *
     * @param selfLoad this node's own load (its table holds no load record of itself)
     * @param peerTls  this node forwards over peer TLS: hosts are listed at their peer
     *                 listeners, and those without one are left out
     * @param maxBytes the most bytes the encoded summary may take
     */
    static Message.Summary summarize(Collection<MemberView> members, String region, String self,
                                     LoadRecord selfLoad, boolean peerTls, InetSocketAddress bridgeWan,
                                     long sequence, int maxBytes) {
        int healthy = 0;
        long capacity = 0;
        Map<String, List<RegionSummary.Host>> byModel = new TreeMap<>();
        for (MemberView m : members) {
            NodeMetadata meta = m.metadata();
            if (!m.live() || !region.equals(meta.region())) {
                continue;
            }
            healthy++;
            capacity += Math.max(0, meta.capacity());
            int port = peerTls ? meta.peerPort() : meta.dataPort();
            if (!"READY".equals(meta.nodeState()) || port <= 0) {
                continue;
            }
            LoadRecord load = m.node().equals(self) ? selfLoad : m.load();
            // a wildcard data address means "where my gossip comes from"
            String address = meta.dataAddress().isEmpty() || meta.dataAddress().equals("0.0.0.0")
                    ? m.address().getAddress().getHostAddress() : meta.dataAddress();
            var host = new RegionSummary.Host(m.node(), address + ":" + port,
                    load == null ? 0 : load.queueDepth(), load == null ? 0 : load.inFlight(),
                    Math.max(0, meta.capacity()));
            for (NodeMetadata.Model model : meta.models()) {
                byModel.computeIfAbsent(model.name(), k -> new ArrayList<>()).add(host);
            }
        }
        Comparator<RegionSummary.Host> leastLoaded = Comparator
                .comparingDouble((RegionSummary.Host h) -> (h.queueDepth() + h.inFlight())
                        / (double) Math.max(1, h.capacity()))
                .thenComparing(RegionSummary.Host::nodeId);
        int cappedCapacity = (int) Math.min(Integer.MAX_VALUE, capacity);
        for (int perModel = RegionSummary.MAX_HOSTS_PER_MODEL; ; perModel = Math.max(1, perModel / 2)) {
            var models = new ArrayList<RegionSummary.ModelHosts>();
            for (var e : byModel.entrySet()) {
                if (models.size() == RegionSummary.MAX_MODELS) {
                    break;
                }
                models.add(new RegionSummary.ModelHosts(e.getKey(),
                        e.getValue().stream().sorted(leastLoaded).limit(perModel).toList()));
            }
            var summary = new Message.Summary(region, self, bridgeWan, sequence, healthy, cappedCapacity, models);
            while (Codec.size(summary) > maxBytes && perModel == 1 && !models.isEmpty()) {
                models.removeLast();
                summary = new Message.Summary(region, self, bridgeWan, sequence, healthy, cappedCapacity, models);
            }
            if (Codec.size(summary) <= maxBytes || perModel == 1) {
                return summary;
            }
        }
    }
}
