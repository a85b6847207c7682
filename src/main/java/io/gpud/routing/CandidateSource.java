package io.gpud.routing;

import java.util.List;

/**
 * Where the router learns which hosts exist: the region's gossip pool and the WAN pool's
 * summaries of other regions ({@link MembershipCandidates}). The router asks on every
 * request, so both calls must be cheap.
 *
 * <p>{@link #peers()} returns an immutable list and keeps returning <em>the same
 * instance</em> while the hosts have not changed: the router compiles each new instance
 * into a table of primitive arrays once and scores requests against that table until the
 * instance changes. A source that builds a new list on every call is correct, only slower.
 */
public interface CandidateSource {

    /** This node's id. */
    String localNode();

    /** This node's region. */
    String localRegion();

    /**
     * This node as it is right now (live state and load, {@link Candidate#self()} true), or
     * null when this node is not a candidate at all.
     */
    Candidate self();

    /** Every other host known, in a stable order. */
    List<Candidate> peers();
}
