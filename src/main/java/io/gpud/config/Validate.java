package io.gpud.config;

import java.time.Duration;

/** Checks used by the compact constructors; messages name the field and the value. */
final class Validate {
    private Validate() {
    }

    static void notBlank(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(field + " was " + (value == null ? "missing" : "'" + value + "'")
                    + ", must not be empty");
        }
    }

    static void port(String field, int value) {
        range(field, value, 0, 65535);
    }

    static void range(String field, long value, long min, long max) {
        if (value < min || value > max) {
            throw new ConfigException(field + " was " + value + ", must be between " + min + " and " + max);
        }
    }

    static void positive(String field, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new ConfigException(field + " was " + value + ", must be a positive duration");
        }
    }
}
