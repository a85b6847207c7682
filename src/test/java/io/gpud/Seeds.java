package io.gpud;

import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * The seeds simulations run under when the suite runs them as properties: {@value #COUNT}
 * seeds drawn from one fixed generator seed ({@value #GENERATOR}), the same in every run,
 * each a test of its own named {@code seed N}. A failure names its seed (in the test's name
 * and in every message), and the same seed replays the same run event for event. To replay
 * one seed alone, or to try another:
 *
 * <pre>
 * ./mvnw test -Dtest='MembershipSimulationTest#crashIsSeenDeadByEveryPeer' -Dgpud.sim.seed=N
 * </pre>
 *
 * With {@code gpud.sim.seed} set, every simulation runs that seed only.
 */
public final class Seeds {
    public static final int COUNT = 20;
    public static final long GENERATOR = 20251101L;

    private Seeds() {
    }

    /** For {@code @MethodSource("io.gpud.Seeds#simulation")}. */
    public static LongStream simulation() {
        Long replay = Long.getLong("gpud.sim.seed");
        if (replay != null) {
            return LongStream.of(replay);
        }
        return new SplittableRandom(GENERATOR).longs(COUNT, 1, 1L << 40);
    }
}
