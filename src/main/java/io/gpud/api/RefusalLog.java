package io.gpud.api;

import io.gpud.core.LogInterval;
import io.gpud.core.MonotonicClock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
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
    private final Duration interval;
    private final ConcurrentHashMap<String, LogInterval> kinds = new ConcurrentHashMap<>();

    RefusalLog(MonotonicClock clock, Duration interval) {
        this.clock = clock;
        this.interval = interval;
    }

    /**
     * Notes one refusal of class {@code kind} ("header deadline", "body budget"); logs it,
     * with the count suppressed since the last line, when the class's interval has passed.
     */
    void refused(String kind, String detail) {
        long since = kinds.computeIfAbsent(kind, k -> new LogInterval(clock, interval)).count();
        if (since == 1) {
            LOG.warn("refused ({}): {}", kind, detail);
        } else if (since > 1) {
            LOG.warn("refused ({}): {}; {} more of this kind since the last such line", kind, detail, since - 1);
        }
    }
}
