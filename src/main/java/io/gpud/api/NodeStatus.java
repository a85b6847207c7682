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
 * @param modelLoad  the latest model load or reload (in progress or ended), or null
 * @param regions    the region summaries carried by the WAN pool, this node's region
 *                   included, sorted by region; empty while the WAN pool is off
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
        long uptimeSeconds,
        ModelLoad modelLoad,
        List<Region> regions) {

    /**
     * One region as its newest summary describes it.
     *
     * @param region       its name
     * @param healthyHosts members alive there
     * @param capacity     concurrent sequences they offer
     * @param bridge       the bridge that made the summary
     * @param ageMs        how long ago this node got the summary
     * @param models       per model, the least-loaded READY hosts (at most 8)
     */
    public record Region(String region, int healthyHosts, int capacity, String bridge, long ageMs,
                         List<RegionModel> models) {
    }

    /** A model's least-loaded hosts in a region. */
    public record RegionModel(String model, List<RegionHost> hosts) {
    }

    /** One host of a region summary: where to send, and how loaded it was. */
    public record RegionHost(String nodeId, String dataAddress, int queueDepth, int inFlight, int capacity) {
    }

    /** One served model; {@code version} is its store version, or {@code file} outside the store. */
    public record Model(String name, String format, String architecture, long parameters,
                        int contextLength, String weightType, String version) {
    }

    /**
     * A model load from the store.
     *
     * @param model          {@code name@version}
     * @param state          {@code loading}, {@code swapping}, {@code serving} or {@code failed}
     * @param bytes          bytes read and checked
     * @param totalBytes     bytes of the version
     * @param bytesPerSecond average read rate
     * @param etaSeconds     seconds left at that rate while loading, else 0
     * @param message        the failure, or how the swap went
     */
    public record ModelLoad(String model, String state, long bytes, long totalBytes, double bytesPerSecond,
                            long etaSeconds, String message) {
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
