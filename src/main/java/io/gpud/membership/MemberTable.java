package io.gpud.membership;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * One protocol's members by id, this node included, kept so that what the protocol asks
 * many times a second is cheap: how many members are live, and a few of them at random.
 * Dead and left members stay until {@link #reap} forgets them.
 */
final class MemberTable {
    private final Member self;
    private final Map<String, Member> members = new HashMap<>();
    /** The same members but this node, for sampling by index. */
    private final List<Member> others = new ArrayList<>();
    /** Members alive or suspect, this node included. */
    private int live = 1;

    MemberTable(Member self) {
        this.self = self;
        members.put(self.name, self);
    }

    Member self() {
        return self;
    }

    /** The member with this id, or null. */
    Member get(String id) {
        return members.get(id);
    }

    /** Every member, this node included, in no particular order. */
    Collection<Member> all() {
        return members.values();
    }

    /** The table, read-only. */
    Map<String, Member> view() {
        return Collections.unmodifiableMap(members);
    }

    int size() {
        return members.size();
    }

    /** Members alive or suspect, this node included. */
    int live() {
        return live;
    }

    /** Whether some member is dead or left and not yet forgotten. */
    boolean anyGone() {
        return live < others.size() + 1;
    }

    /** A member heard of for the first time; alive. */
    void add(Member m) {
        members.put(m.name, m);
        others.add(m);
        live++;
    }

    /** A dead or left member is alive again. */
    void revived() {
        live++;
    }

    /** A live member is now dead or left. */
    void died() {
        live--;
    }

    /** Forgets dead and left members gone for longer than {@code retentionNanos}, telling {@code reaped} of each. */
    void reap(long now, long retentionNanos, Consumer<String> reaped) {
        if (!anyGone()) {
            return;
        }
        others.removeIf(m -> !m.live() && now - m.stateSinceNanos > retentionNanos);
        members.values().removeIf(m -> {
            boolean gone = !m.live() && now - m.stateSinceNanos > retentionNanos && m != self;
            if (gone) {
                reaped.accept(m.name);
            }
            return gone;
        });
    }

    /** Up to k distinct random members other than this node that pass {@code filter}. */
    List<Member> random(int k, Predicate<Member> filter, RandomGenerator random) {
        int n = others.size();
        if (n > 8 * k) {
            // Sample by index: cheap at hundreds of members, when most pass the filter.
            var picked = new ArrayList<Member>(k);
            for (int tries = 0; picked.size() < k && tries < 8 * k; tries++) {
                Member m = others.get(random.nextInt(n));
                if (filter.test(m) && !picked.contains(m)) {
                    picked.add(m);
                }
            }
            if (picked.size() == k) {
                return picked;
            }
        }
        var pool = new ArrayList<Member>();
        for (Member m : others) {
            if (filter.test(m)) {
                pool.add(m);
            }
        }
        // Partial Fisher-Yates: the first k of a random permutation.
        int take = Math.min(k, pool.size());
        for (int i = 0; i < take; i++) {
            Collections.swap(pool, i, i + random.nextInt(pool.size() - i));
        }
        return pool.subList(0, take);
    }
}
