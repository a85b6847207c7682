package io.gpud.config;

/**
 * How the daemon logs (to standard error, which systemd sends to the journal).
 *
 * @param format {@code text}: one readable line per event; {@code json}: one JSON object
 *               per line, for log shippers
 * @param level  {@code error}, {@code warn}, {@code info}, {@code debug} or {@code trace}
 */
public record LogConfig(Format format, Level level) {

    /** {@code log.format}. */
    public enum Format { TEXT, JSON }

    /** {@code log.level}, most severe first. */
    public enum Level { ERROR, WARN, INFO, DEBUG, TRACE }

    public LogConfig {
        Validate.notNull("log.format", format);
        Validate.notNull("log.level", level);
    }

    public static LogConfig defaults() {
        return new LogConfig(Format.TEXT, Level.INFO);
    }
}
