package io.gpud.api;

import io.gpud.core.MonotonicClock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line per class of refused connection or request per interval, never a stack trace
 * per request: a flood of aborted or malformed requests costs a line every {@code interval},
 * not megabytes of log. The first refusal of a class is logged at once with its detail;
 * later ones in the same interval are counted and reported with the next one logged.
 */
final class RefusalLog {

    private static final Logger LOG = LoggerFactory.getLogger(RefusalLog.class);

    private final MonotonicClock clock;
    private final long intervalNanos;
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

    /** Counts since the last line of one class, and when that line was written. */
    private static final class Window {
        final AtomicLong suppressed = new AtomicLong();
        volatile long loggedAt;
        volatile boolean logged;
    }

    RefusalLog(MonotonicClock clock, Duration interval) {
        this.clock = clock;
        this.intervalNanos = interval.toNanos();
    }

    /**
     * Notes one refusal of class {@code kind} ("header deadline", "body budget"); logs it,
     * with the count suppressed since the last line, when the class's interval has passed.
     */
    void refused(String kind, String detail) {
        Window w = windows.computeIfAbsent(kind, k -> new Window());
        long now = clock.nanos();
        synchronized (w) {
            if (w.logged && now - w.loggedAt < intervalNanos) {
                w.suppressed.incrementAndGet();
                return;
            }
            w.logged = true;
            w.loggedAt = now;
        }
        long more = w.suppressed.getAndSet(0);
        if (more == 0) {
            LOG.warn("refused ({}): {}", kind, detail);
        } else {
            LOG.warn("refused ({}): {}; {} more of this kind since the last such line", kind, detail, more);
        }
    }
}
