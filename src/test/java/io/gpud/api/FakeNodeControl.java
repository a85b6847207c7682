package io.gpud.api;

import io.gpud.core.NodeState;

import java.util.List;

/** A node whose state tests set directly; drain and undrain move it as the real node does. */
public final class FakeNodeControl implements NodeControl {

    private volatile NodeState state = NodeState.READY;

    public void state(NodeState state) {
        this.state = state;
    }

    @Override
    public String nodeId() {
        return "node-test-1";
    }

    @Override
    public NodeState state() {
        return state;
    }

    @Override
    public NodeStatus status() {
        return new NodeStatus(nodeId(), "local", state.name(), 0, 0,
                List.of(new NodeStatus.Model("fake", "llama2c", "llama", 260_000, 64, "F32", "file")),
                List.of(new NodeStatus.Member(nodeId(), "local", state.name(), "127.0.0.1:8400", 0, null, state.name())),
                "0.1.0-test", 42, null, List.of());
    }

    @Override
    public NodeState drain() {
        state = NodeState.DRAINING;
        return state;
    }

    @Override
    public NodeState undrain() {
        state = NodeState.READY;
        return state;
    }
}
