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
        ModelLoad modelLoad) {

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
