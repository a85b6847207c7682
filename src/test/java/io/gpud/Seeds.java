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
 * With {@code gpud.sim.seed} set, every simulation runs that seed only. Seeds are drawn
 * uniformly from [1, 2^40).
 */
public final class Seeds {
    public static final int COUNT = 20;
    public static final long GENERATOR = 20251101L;
    public static final String REPLAY = "gpud.sim.seed";

    private Seeds() {
    }

    /** {@value #COUNT} seeds, for {@code @MethodSource("io.gpud.Seeds#simulation")}. */
    public static LongStream simulation() {
        return take(COUNT);
    }

    /** The generator's first {@code count} seeds, or the replayed seed alone. */
    public static LongStream take(long count) {
        return replaying() ? LongStream.of(Long.getLong(REPLAY)) : all().limit(count);
    }

    /** Every seed of the generator, in order (for a simulation that picks the seeds it needs). */
    public static LongStream all() {
        return new SplittableRandom(GENERATOR).longs(1, 1L << 40);
    }

    /** True while one seed is replayed: a check over many seeds does not apply. */
    public static boolean replaying() {
        return Long.getLong(REPLAY) != null;
    }
}
