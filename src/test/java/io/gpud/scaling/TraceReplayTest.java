package io.gpud.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.PoolConfig;
import io.gpud.config.ScalingConfig;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The committed traces (bench/traces) through the controller, checked against the timing
 * rules recomputed here from the trace itself: a grow exactly 120 s after the windowed
 * rate per instance went above the band (and stayed there), a shrink exactly 600 s after
 * it went below, never outside min/max.
 */
class TraceReplayTest {

    private static final ScalingConfig POLICY = ScalingConfig.defaults();

    @ParameterizedTest(name = "{0} on {1}, launch delay {4}s")
    @CsvSource({
        "steady, model-a, 0, 0, 0",
        "burst,  model-a, 0, 0, 0",
        "ramp,   model-a, 5, 0, 0",
        "ramp,   model-c, 5, 0, 180",
        "decay,  model-a, 1, 4, 0",
        "decay,  model-b, 1, 4, 240",
    })
    void tracesFollowTheTimingRules(String trace, String poolName, int minUps, int minDowns, int launchDelaySeconds)
            throws IOException {
        PoolConfig pool = POLICY.pools().get(poolName);
        List<TraceReplay.Row> rows;
        try (var in = Files.newBufferedReader(Path.of("bench/traces", trace + ".csv"))) {
            rows = TraceReplay.parse(in, trace);
        }
        Duration delay = Duration.ofSeconds(launchDelaySeconds);
        List<TraceReplay.Step> steps = TraceReplay.replay(rows, pool, POLICY, delay);
        check(rows, pool, steps, delay);
        long ups = countDirection(steps, pool, true);
        long downs = steps.size() - ups;
        assertTrue(ups >= minUps, trace + ": " + ups + " grows, expected at least " + minUps);
        assertTrue(downs >= minDowns, trace + ": " + downs + " shrinks, expected at least " + minDowns);
        if (trace.equals("steady") || trace.equals("burst")) {
            assertEquals(List.of(), steps, trace + " must not change capacity");
        }
        if (trace.equals("ramp")) {
            assertEquals(0, downs, "a rising trace never shrinks");
        }
    }

    @Test
    void firstGrowComesExactly120SecondsAfterTheRateRoseAboveTheBand() throws IOException {
        // 2 rps on 2 instances (1.0, in band) then 6 rps: the windowed rate crosses 1.5/instance at t=60+k
        var csv = new StringBuilder("t_seconds,rps\n");
        for (int t = 0; t < 1800; t += 10) {
            csv.append(t).append(',').append(t < 300 ? 2 : 6).append('\n');
        }
        var rows = TraceReplay.parse(new StringReader(csv.toString()), "step");
        PoolConfig pool = POLICY.pools().get("model-a");
        var steps = TraceReplay.replay(rows, pool, POLICY, Duration.ZERO);
        long crossed = -1;
        for (long at = 70; at < 1800; at += 10) {
            if (windowRps(rows, at) / 2 > 1.5) {
                crossed = at;
                break;
            }
        }
        assertEquals(320, crossed, "6 rps for 20 s of 60 lifts the window to 3.33 rps, 1.67/instance");
        assertEquals(crossed + 120, steps.getFirst().tSeconds());
        assertEquals(5, steps.getFirst().desired(), "one step to ceil(6 / 1.25)");
    }

    @Test
    void badTracesGetClearErrors() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> TraceReplay.parse(new StringReader("t_seconds,rps\n0,1\n20,1\n"), "gap.csv"));
        assertEquals("gap.csv:3: t_seconds was 20, must be 10 (one row per 10 s)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TraceReplay.parse(new StringReader("0,-1\n"), "neg.csv"));
        assertTrue(e.getMessage().startsWith("neg.csv:1: rps was -1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TraceReplay.parse(new StringReader("0,1,2\n"), "wide.csv"));
        assertTrue(e.getMessage().contains("has 3 fields"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TraceReplay.parse(new StringReader("t,rps\n"), "h.csv"));
        assertTrue(e.getMessage().contains("no rows"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TraceReplay.parse(new StringReader("0,1\nx".repeat(1) + "y".repeat(300)), "long.csv"));
        assertTrue(e.getMessage().contains("characters long"), e.getMessage());
    }

    /** Requests per second over the 60 s before {@code at}: rows t in [at-60, at-10]. */
    private static double windowRps(List<TraceReplay.Row> rows, long at) {
        long t0 = rows.getFirst().tSeconds();
        double sum = 0;
        for (long t = at - 60; t <= at - 10; t += 10) {
            sum += rows.get((int) ((t - t0) / 10)).rps() * 10;
        }
        return sum / 60;
    }

    private static long countDirection(List<TraceReplay.Step> steps, PoolConfig pool, boolean up) {
        long n = 0;
        int desired = pool.minInstances();
        for (var s : steps) {
            if ((s.desired() > desired) == up) {
                n++;
            }
            desired = s.desired();
        }
        return n;
    }

    /** Replays the rules independently, tick by tick, and compares every step. */
    private static void check(List<TraceReplay.Row> rows, PoolConfig pool, List<TraceReplay.Step> steps, Duration delay) {
        long t0 = rows.getFirst().tSeconds();
        long end = rows.getLast().tSeconds() + 10;
        int desired = pool.minInstances();
        var launchesReadyAt = new ArrayList<Long>();
        int inService = desired;
        long streakStart = -1;
        boolean streakAbove = false;
        int next = 0;
        for (long at = t0 + 10; at <= end; at += 10) {
            final long now = at;
            int ready = (int) launchesReadyAt.stream().filter(r -> r <= now).count();
            launchesReadyAt.removeIf(r -> r <= now);
            inService += ready;
            TraceReplay.Step step = next < steps.size() && steps.get(next).tSeconds() == at ? steps.get(next) : null;
            if (at - t0 < 60) {
                assertEquals(null, step, "no decision before the window is full, at " + at);
                continue;
            }
            double q = windowRps(rows, at) / inService;
            boolean above = q > 1.5;
            boolean below = q < 1.0;
            if (!above && !below) {
                streakStart = -1;
            } else if (streakStart < 0 || streakAbove != above) {
                streakStart = at;
                streakAbove = above;
            }
            if (step == null) {
                continue;
            }
            next++;
            assertTrue(step.desired() >= pool.minInstances() && step.desired() <= pool.maxInstances(),
                    "desired " + step.desired() + " outside " + pool + " at " + at);
            if (step.desired() > desired) {
                assertTrue(above, "grow at " + at + " with q=" + q);
                if (ready == 0) {
                    assertEquals(120, at - streakStart, "grow at " + at + ": streak above started at " + streakStart);
                } else {
                    assertTrue(at - streakStart >= 120, "grow at " + at + " as launches completed, streak above "
                            + "started at " + streakStart);
                }
                for (int i = desired; i < step.desired(); i++) {
                    launchesReadyAt.add(at + delay.toSeconds());
                }
                int nowReady = (int) launchesReadyAt.stream().filter(r -> r <= now).count();
                launchesReadyAt.removeIf(r -> r <= now);
                inService += nowReady;
            } else {
                assertTrue(below, "shrink at " + at + " with q=" + q);
                assertEquals(600, at - streakStart, "shrink at " + at + ": streak below started at " + streakStart);
                assertTrue(launchesReadyAt.isEmpty(), "shrink while launching at " + at);
                inService -= desired - step.desired();
            }
            desired = step.desired();
            streakStart = -1;
        }
        assertEquals(steps.size(), next, "every step was at a tick: " + steps);
        assertFalse(desired < pool.minInstances() || desired > pool.maxInstances());
    }
}
