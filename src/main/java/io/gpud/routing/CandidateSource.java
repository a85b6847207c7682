package io.gpud.routing;

import java.util.List;

/**
 * Where the router learns which hosts exist: the region's gossip pool and the WAN pool's
 * summaries of other regions ({@link MembershipCandidates}). Implementations return an
 * immutable list, cheaply (the router asks on every request).
 */
public interface CandidateSource {

    /** This node's id. */
    String localNode();

    /** This node's region. */
    String localRegion();

    /** Every host known, this node included. */
    List<Candidate> candidates();
}
