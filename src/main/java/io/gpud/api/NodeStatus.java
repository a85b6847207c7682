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

    /** One cluster member. */
    public record Member(String nodeId, String region, String state, String address) {
    }
}
