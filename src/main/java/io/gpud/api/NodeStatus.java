package io.gpud.api;

import java.util.List;

/**
 * The admin API's status document, as {@code gpud status --json} prints it.
 *
 * @param nodeId     this node
 * @param region     its region ({@code local} for a single node)
 * @param state      lifecycle state name
 * @param inFlight   sequences admitted and not finished
 * @param queueDepth sequences waiting to start
 * @param models     what this node serves
 * @param members    the cluster as this node sees it
 * @param version    software version
 * @param uptimeSeconds seconds since start
 */
public record NodeStatus(
        String nodeId,
        String region,
        String state,
        int inFlight,
        int queueDepth,
        List<Model> models,
        List<Member> members,
        String version,
        long uptimeSeconds) {

    /** One served model. */
    public record Model(String name, String format, String architecture, long parameters,
                        int contextLength, String weightType) {
    }

    /**
     * One cluster member as this node sees it.
     *
     * @param nodeId      its id
     * @param region      its region
     * @param state       alive, suspect, dead or left
     * @param address     its gossip address
     * @param incarnation its incarnation number
     * @param rttMs       smoothed round-trip time of direct probes in ms; null for this node
     *                    and before the first probe
     * @param nodeState   its lifecycle state from its metadata (READY, DRAINING, ...)
     */
    public record Member(String nodeId, String region, String state, String address, long incarnation,
                         Double rttMs, String nodeState) {
    }
}
