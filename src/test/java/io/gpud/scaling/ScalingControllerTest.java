package io.gpud.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.PoolConfig;
import io.gpud.config.ScalingConfig;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ScalingControllerTest {

    private static final ScalingConfig POLICY = ScalingConfig.defaults();
    private static final PoolConfig POOL = PoolConfig.of("p", 2, 10);
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private static Observation at(int seconds, double rps, int instances, int queued) {
        return new Observation(T0.plusSeconds(seconds), rps, true, instances, queued);
    }

    @Test
    void aBreakInTheStreakStartsItAgain() {
        var c = new ScalingController(POOL, POLICY, 2);
        for (int s = 0; s < 120; s += 10) {
            assertInstanceOf(Decision.Hold.class, c.evaluate(at(s, 4, 2, 0)));
        }
        assertInstanceOf(Decision.Hold.class, c.evaluate(at(120, 2.5, 2, 0)), "1.25/instance: in the band");
        for (int s = 130; s < 250; s += 10) {
            assertInstanceOf(Decision.Hold.class, c.evaluate(at(s, 4, 2, 0)), "at " + s);
        }
        var grow = assertInstanceOf(Decision.Resize.class, c.evaluate(at(250, 4, 2, 0)));
        assertEquals(4, grow.to(), "ceil(4 / 1.25)");
    }

    @Test
    void queueGuardKeepsAPoolWithAQueue() {
        var c = new ScalingController(POOL, POLICY, 6);
        for (int s = 0; s <= 600; s += 10) {
            Decision d = c.evaluate(at(s, 3, 6, 12));
            assertInstanceOf(Decision.Hold.class, d, "at " + s);
            if (s == 600) {
                assertTrue(d.reason().startsWith("queue guard: 2.0 queued per instance"), d.reason());
            }
        }
        var shrink = assertInstanceOf(Decision.Resize.class, c.evaluate(at(610, 3, 6, 0)));
        assertEquals(3, shrink.to(), "ceil(3 / 1.25), once the queue is gone");
    }

    @Test
    void neverGrowsWhileInstancesAreLaunchingNorPastTheMaximum() {
        var c = new ScalingController(POOL, POLICY, 8);
        for (int s = 0; s <= 300; s += 10) {
            Decision d = c.evaluate(at(s, 100, 5, 0));
            assertInstanceOf(Decision.Hold.class, d, "3 of 8 still launching at " + s);
        }
        var grow = assertInstanceOf(Decision.Resize.class, c.evaluate(at(310, 100, 8, 0)));
        assertEquals(10, grow.to(), "clamped to the maximum");
        for (int s = 320; s <= 600; s += 10) {
            assertInstanceOf(Decision.Hold.class, c.evaluate(at(s, 100, 10, 0)));
        }
    }

    @Test
    void aDesiredCapacityOutsideTheBoundsIsCorrectedAtOnceAndPartialWindowsDecideNothing() {
        var c = new ScalingController(POOL, POLICY, 40);
        var fix = assertInstanceOf(Decision.Resize.class, c.evaluate(at(0, 0, 40, 0)));
        assertEquals(10, fix.to());
        var partial = new Observation(T0.plus(Duration.ofHours(1)), 0, false, 10, 0);
        assertTrue(c.evaluate(partial).reason().startsWith("measuring"));
    }
}
