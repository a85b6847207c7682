package io.gpud.node;

import io.gpud.core.NodeState;
import io.gpud.inference.Engine;
import io.gpud.routing.MembershipCandidates;
import java.util.Set;
import java.util.stream.Collectors;

/** This node as the router sees it: live state and load, not its own gossip. */
record RoutingSelf(Lifecycle lifecycle, ServedModels served, int capacity, DataPlaneAddress address)
        implements MembershipCandidates.Self {

    @Override
    public NodeState state() {
        return lifecycle.state();
    }

    @Override
    public int queueDepth() {
        return served.queueDepth();
    }

    @Override
    public int inFlight() {
        return served.inFlight();
    }

    @Override
    public Set<String> models() {
        return served.engines().stream().map(Engine::info).map(i -> i.name()).collect(Collectors.toUnmodifiableSet());
    }

    @Override
    public String host() {
        return address.host();
    }

    @Override
    public int port() {
        return address.port();
    }
}
