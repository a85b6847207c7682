package io.gpud.config;

import java.time.Duration;

/** Checks of one setting's value, used by the compact constructors; messages name the setting and the value. */
final class Validate {
    private Validate() {
    }

    static void notBlank(String field, String value) {
        if (value == null || value.isBlank()) {
            throw ConfigException.invalid(field, "was " + (value == null ? "missing" : "'" + value + "'")
                    + ", must not be empty");
        }
    }

    static void notNull(String field, Object value) {
        if (value == null) {
            throw ConfigException.invalid(field, "is missing");
        }
    }

    static void port(String field, int value) {
        range(field, value, 0, 65535);
    }

    static void range(String field, long value, long min, long max) {
        if (value < min || value > max) {
            throw ConfigException.invalid(field, "was " + value + ", must be between " + min + " and " + max);
        }
    }

    static void positive(String field, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw ConfigException.invalid(field, "was " + value + ", must be a positive duration");
        }
    }
}
