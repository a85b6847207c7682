package io.gpud.config;

/**
 * How the daemon logs (to standard error, which systemd sends to the journal).
 *
 * @param format {@code text}: one readable line per event; {@code json}: one JSON object
 *               per line, for log shippers
 * @param level  {@code error}, {@code warn}, {@code info}, {@code debug} or {@code trace}
 */
public record LogConfig(String format, String level) {

    public LogConfig {
        if (!"text".equals(format) && !"json".equals(format)) {
            throw new ConfigException("log.format was '" + format + "', must be 'text' or 'json'");
        }
        if (level == null || !level.matches("error|warn|info|debug|trace")) {
            throw new ConfigException("log.level was '" + level + "', must be one of error, warn, info, debug, trace");
        }
    }

    public static LogConfig defaults() {
        return new LogConfig("text", "info");
    }
}
