package io.gpud.api;

import io.gpud.routing.RouteExplanation;
import io.gpud.core.NodeState;
import io.gpud.membership.MembershipAgent.KeyringChange;
import java.util.List;

/**
 * What the admin API needs from the node that owns it: its identity and state, and the
 * admin operations. Implemented by the node's services ({@code io.gpud.node}).
 */
public interface NodeControl extends NodeView {

    /** A full status snapshot for {@code gpud status}. */
    NodeStatus status();

    /** READY → DRAINING (→ DRAINED once nothing is in flight). Returns the new state. */
    NodeState drain();

    /** DRAINING or DRAINED → READY. Returns the new state. */
    NodeState undrain();

    /**
     * Where a request for {@code model} from {@code sourceIp} (null: unknown) would go now,
     * and why; null when this node does not route.
     */
    default RouteExplanation explainRoute(String model, String sourceIp) {
        return null;
    }

    /**
     * As {@link #explainRoute(String, String)}, for a request whose prompt is {@code prompt}
     * (as {@code /v1/completions} takes it; null: none), so the cache term looks for its
     * KV blocks in the hosts' caches.
     */
    default RouteExplanation explainRoute(String model, String sourceIp, String prompt) {
        return explainRoute(model, sourceIp);
    }

    /** The gossip keyring, base64 keys, the primary first; empty without gossip encryption. */
    default List<String> keys() {
        return List.of();
    }

    /** Installs, uses or removes a gossip key on this node. */
    default KeyringChange changeKeyring(KeyringOperation operation, String key) {
        return new KeyringChange.Refused("this node has no gossip keyring");
    }

    /**
     * Loads {@code version} of the served model {@code name} from the model store (null:
     * the version its {@code current} pointer names) and swaps it in without failing a
     * request; returns at once, the load runs in the background.
     */
    default ModelReload loadModel(String name, String version) {
        return new ModelReload.Refused("this node has no model store");
    }

    /** Installs, uses or removes a gossip key here and, through gossip, on every member. */
    default KeyringChange changeClusterKeyring(KeyringOperation operation, String key) {
        return new KeyringChange.Refused("this node has no gossip keyring");
    }
}
