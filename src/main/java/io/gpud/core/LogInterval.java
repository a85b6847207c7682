package io.gpud.core;

import java.time.Duration;

/**
 * One log line per interval about events that may come in floods (refused connections,
 * failed accepts): each event is counted, and a line is due for the first one and then for
 * the first one after each interval, reporting how many came since the last line. A flood
 * costs a line every interval, not one per event.
 */
public final class LogInterval {

    private final MonotonicClock clock;
    private final long intervalNanos;
    private long events;
    private long loggedAt;
    private boolean logged;

    public LogInterval(MonotonicClock clock, Duration interval) {
        this.clock = clock;
        this.intervalNanos = interval.toNanos();
    }

    /**
     * Counts one event. Returns 0 when no line is due; otherwise the events since the last
     * line, this one included (at least 1), and starts a new interval.
     */
    public synchronized long count() {
        events++;
        long now = clock.nanos();
        if (logged && now - loggedAt < intervalNanos) {
            return 0;
        }
        logged = true;
        loggedAt = now;
        long since = events;
        events = 0;
        return since;
    }
}
