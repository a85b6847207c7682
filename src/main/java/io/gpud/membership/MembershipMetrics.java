package io.gpud.membership;

import io.gpud.metrics.Counter;
import io.gpud.metrics.MetricRegistry;

/** The gossip counters, registered once in the node's {@link MetricRegistry}. */
final class MembershipMetrics {
    final Counter probes;
    final Counter probeFailures;
    final Counter suspicions;
    final Counter refutations;
    final Counter deaths;
    final Counter bytesSent;
    final Counter bytesReceived;
    final Counter packetsDropped;
    final Counter rejected;

    MembershipMetrics(MetricRegistry registry, String pool) {
        String p = "gpud_gossip_" + pool + "_";
        probes = registry.counter(p + "probes_total", "Probes started (" + pool + " pool)");
        probeFailures = registry.counter(p + "probe_failures_total",
                "Probes with no direct or indirect ack (" + pool + " pool)");
        suspicions = registry.counter(p + "suspicions_total", "Members this node began to suspect (" + pool + " pool)");
        refutations = registry.counter(p + "refutations_total",
                "Times this node refuted a suspicion or death of itself (" + pool + " pool)");
        deaths = registry.counter(p + "deaths_total", "Members this node saw die or leave (" + pool + " pool)");
        bytesSent = registry.counter(p + "sent_bytes_total", "Gossip bytes sent, UDP and TCP (" + pool + " pool)");
        bytesReceived = registry.counter(p + "received_bytes_total",
                "Gossip bytes received, UDP and TCP (" + pool + " pool)");
        packetsDropped = registry.counter(p + "dropped_packets_total",
                "Packets dropped because they did not decrypt or parse (" + pool + " pool)", "reason");
        rejected = registry.counter(p + "rejected_messages_total", "Messages and streams refused: an absurd "
                + "incarnation, a relay or stream request naming an address that is no member, a reply larger than "
                + "its request, a stream over the connection or memory budget (" + pool + " pool)", "reason");
    }
}
