package io.gpud.routing;

import io.gpud.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class RecentSendsTest {

    static final int TRIES = Seeds.COUNT;

    /**
     * The ring against a sorted list of its last {@code SLOTS} sends, over {@value #TRIES}
     * seeds from {@link Seeds}; a failing one replays alone with
     * {@code ./mvnw test -Dtest='RecentSendsTest' -Dgpud.sim.seed=N}.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("io.gpud.Seeds#simulation")
    void countsTheSendsAfterAnInstantEvenWhenTheyArriveOutOfOrderAndTheRingWraps(long seed) {
        var random = new Random(seed);
        var ring = new RecentSends().ring("p");
        List<Long> kept = new ArrayList<>();
        long now = -5_000_000_000L; // the monotonic clock may be negative
        for (int i = 0; i < 3 * RecentSends.SLOTS; i++) {
            now += random.nextInt(1_000_000);
            // A racing sender may record an instant a little older than the last one.
            long at = now - (random.nextInt(4) == 0 ? random.nextInt(3_000_000) : 0);
            ring.add(at);
            kept.add(at);
            kept.sort(null);
            if (kept.size() > RecentSends.SLOTS) {
                kept.removeFirst();
            }
            long since = now - random.nextInt(200_000_000);
            long want = kept.stream().filter(t -> t - since > 0).count();
            assertEquals(want, ring.countAfter(since), "seed " + seed + ": after " + (i + 1) + " sends, since " + since);
        }
    }

    @Test
    void aPeerNoLongerListedIsForgotten() {
        var sends = new RecentSends();
        var kept = sends.ring("a");
        sends.record("b", 10);
        sends.retainOnly(java.util.Set.of("a"));
        assertSame(kept, sends.ring("a"));
        assertEquals(0, sends.ring("b").countAfter(0), "b's ring was dropped with its sends");
    }
}
