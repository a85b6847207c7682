package io.gpud.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogIntervalTest {

    @Test
    void theFirstEventIsDueAndThenTheFirstAfterEachIntervalWithTheCountSinceTheLastLine() {
        var now = new AtomicLong(1_000);
        var interval = new LogInterval(now::get, Duration.ofSeconds(10));
        assertEquals(1, interval.count());
        now.addAndGet(Duration.ofSeconds(3).toNanos());
        assertEquals(0, interval.count());
        assertEquals(0, interval.count());
        now.addAndGet(Duration.ofSeconds(7).toNanos());
        assertEquals(3, interval.count(), "two suppressed and this one");
        now.addAndGet(Duration.ofSeconds(9).toNanos());
        assertEquals(0, interval.count());
        now.addAndGet(Duration.ofSeconds(60).toNanos());
        assertEquals(2, interval.count());
    }
}
