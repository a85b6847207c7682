package io.gpud.scaling;

import io.gpud.config.PoolConfig;
import io.gpud.config.ScalingConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Replays a request-rate trace through {@link ScalingController} on a simulated clock:
 * what {@code gpud scale simulate} runs.
 *
 * <p>The trace is CSV, {@code t_seconds,rps}, one row per 10 s (a header line allowed):
 * row {@code t} is the pool's rate during [{@code t}, {@code t + 10}). After each row the
 * replay feeds the pool's cumulative request count at {@code t + 10} to a {@link PoolRate},
 * as the nodes' counters would, and evaluates the controller at {@code t + 10}. The pool
 * starts at its minimum; instances asked for come into service {@code launchDelay} later,
 * instances given up leave at once. Queues are not simulated (queue depth 0).
 */
public final class TraceReplay {

    /** Seconds between trace rows. */
    public static final int ROW_SECONDS = 10;
    /** More rows than this (a year at 10 s) is refused before it costs memory. */
    public static final int MAX_ROWS = 3_153_600;
    /** Counts are fed in thousandths of a request, so fractional rates stay exact. */
    private static final long MILLI = 1000;

    /** One row of the trace: the rate during the 10 s from {@code tSeconds}. */
    public record Row(long tSeconds, double rps) {
    }

    /** One decision: at {@code tSeconds} the desired capacity became {@code desired}. */
    public record Step(long tSeconds, int desired, String reason) {
        /** {@code t_seconds desired reason}, as {@code gpud scale simulate} prints it. */
        public String line() {
            return tSeconds + " " + desired + " " + reason;
        }
    }

    private TraceReplay() {
    }

    /** Reads a trace; errors name the line and what was wrong with it. */
    public static List<Row> parse(Reader in, String source) throws IOException {
        var rows = new ArrayList<Row>();
        var reader = new BufferedReader(in);
        String line;
        int lineNo = 0;
        boolean sawContent = false;
        while ((line = reader.readLine()) != null) {
            lineNo++;
            if (line.length() > 200) {
                throw new IllegalArgumentException(source + ":" + lineNo + ": line is " + line.length()
                        + " characters long, a row is 't_seconds,rps'");
            }
            String text = line.strip();
            if (text.isEmpty() || text.startsWith("#")) {
                continue;
            }
            String[] cells = text.split(",", -1);
            boolean first = !sawContent;
            sawContent = true;
            if (first && !looksNumeric(cells[0])) {
                continue; // the header line
            }
            if (cells.length != 2) {
                throw new IllegalArgumentException(source + ":" + lineNo + ": '" + text
                        + "' has " + cells.length + " fields, must be t_seconds,rps");
            }
            long t;
            double rps;
            try {
                t = Long.parseLong(cells[0].strip());
                rps = Double.parseDouble(cells[1].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(source + ":" + lineNo + ": '" + text
                        + "' must be an integer t_seconds and a number rps");
            }
            if (!(rps >= 0) || !Double.isFinite(rps) || rps > 1e9) {
                throw new IllegalArgumentException(source + ":" + lineNo + ": rps was " + cells[1].strip()
                        + ", must be a number from 0 to 1e9");
            }
            if (rows.isEmpty() ? t < 0 : t != rows.getLast().tSeconds() + ROW_SECONDS) {
                throw new IllegalArgumentException(source + ":" + lineNo + ": t_seconds was " + t + ", must be "
                        + (rows.isEmpty() ? "at least 0" : (rows.getLast().tSeconds() + ROW_SECONDS)
                        + " (one row per " + ROW_SECONDS + " s)"));
            }
            if (rows.size() >= MAX_ROWS) {
                throw new IllegalArgumentException(source + ": more than " + MAX_ROWS + " rows");
            }
            rows.add(new Row(t, rps));
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(source + ": no rows; expected lines of t_seconds,rps");
        }
        return rows;
    }

    private static boolean looksNumeric(String cell) {
        return cell.strip().matches("-?\\d+");
    }

    /** Replays {@code rows} for {@code pool} and returns every change of desired capacity. */
    public static List<Step> replay(List<Row> rows, PoolConfig pool, ScalingConfig policy, Duration launchDelay) {
        if (launchDelay.isNegative()) {
            throw new IllegalArgumentException("launch delay was " + launchDelay + ", must not be negative");
        }
        var controller = new ScalingController(pool, policy, pool.minInstances());
        var rate = new PoolRate(policy.window());
        var launching = new ArrayDeque<Instant>(); // when each instance asked for comes into service
        int inService = pool.minInstances();
        long t0 = rows.getFirst().tSeconds();
        Instant start = Instant.EPOCH.plusSeconds(t0);
        double requests = 0;
        rate.record("trace", start, 0);
        var steps = new ArrayList<Step>();
        for (Row row : rows) {
            requests += row.rps() * ROW_SECONDS;
            Instant now = Instant.EPOCH.plusSeconds(row.tSeconds() + ROW_SECONDS);
            rate.record("trace", now, Math.round(requests * MILLI));
            while (!launching.isEmpty() && !launching.peekFirst().isAfter(now)) {
                launching.removeFirst();
                inService++;
            }
            var observation = new Observation(now, rate.rps(now) / MILLI, rate.windowFull(now), inService, 0);
            if (controller.evaluate(observation) instanceof Decision.Resize r) {
                steps.add(new Step(now.getEpochSecond(), r.to(), r.reason()));
                if (r.to() > r.from()) {
                    for (int i = r.from(); i < r.to(); i++) {
                        launching.addLast(now.plus(launchDelay));
                    }
                    while (!launching.isEmpty() && !launching.peekFirst().isAfter(now)) {
                        launching.removeFirst();
                        inService++;
                    }
                } else {
                    for (int i = r.to(); i < r.from(); i++) {
                        if (!launching.isEmpty()) {
                            launching.removeLast();
                        } else {
                            inService--;
                        }
                    }
                }
            }
        }
        return steps;
    }
}
