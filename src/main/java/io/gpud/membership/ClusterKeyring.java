package io.gpud.membership;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * The keyring one pool seals and opens its packets with, and the cluster key operations
 * that change it on every member at once.
 *
 * <p>A cluster operation (install, use or remove a key) is applied where it was made and
 * gossiped like a membership change, sealed under the key every member holds; each member
 * applies it once (by its id) and passes it on, even when it cannot apply it itself (a
 * removal of what is still its primary must not stop the operation reaching the others).
 * Operators run install, use and remove one after the other, each once the previous one
 * has spread, so no member ever seals with a key another cannot open.
 */
final class ClusterKeyring {
    /** Operations remembered as applied; an operation stops circulating seconds after it was made. */
    private static final int MAX_SEEN = 1024;

    private final MembershipMetrics metrics;
    private Keyring keyring;
    /** Ids of the cluster key operations already applied (a handful per rotation). */
    private final Set<Long> seen = new HashSet<>();
    /** Told of every keyring a received operation produced (the daemon writes it to disk). */
    private Consumer<Keyring> changes = k -> { };

    ClusterKeyring(Keyring keyring, MembershipMetrics metrics) {
        this.keyring = keyring;
        this.metrics = metrics;
    }

    Keyring current() {
        return keyring;
    }

    /** A keyring set by this node's operator, not gossiped. */
    void set(Keyring next) {
        keyring = next;
    }

    /** Keyrings produced by operations other members made go to {@code sink}. */
    void onChange(Consumer<Keyring> sink) {
        changes = sink;
    }

    /**
     * Applies an operation made here; returns it, for the caller to gossip.
     *
     * @throws IllegalArgumentException when the operation does not apply here (a bad key,
     *                                  use of a key not installed, removal of the primary)
     */
    Message.KeyOp start(Message.KeyOp.Operation op, String key, RandomGenerator random) {
        if (!keyring.encrypted()) {
            throw new IllegalArgumentException("gossip is not encrypted on this node");
        }
        var k = new Message.KeyOp(random.nextLong() & Long.MAX_VALUE, op, key);
        keyring = keyring.apply(k);
        seen.add(k.id());
        return k;
    }

    /**
     * An operation gossiped by another member: applied if it is new here. True when it is
     * new, and so must be passed on, whether or not it applied.
     */
    boolean receive(Message.KeyOp k) {
        if (!keyring.encrypted() || !seen.add(k.id())) {
            return false;
        }
        if (seen.size() > MAX_SEEN) {
            seen.clear();
            seen.add(k.id());
        }
        try {
            keyring = keyring.apply(k);
            changes.accept(keyring);
        } catch (IllegalArgumentException e) {
            metrics.packetsDropped.inc("key_op");
        }
        return true;
    }
}
