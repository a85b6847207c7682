package io.gpud.config;

import io.gpud.core.GpudException;

/** A configuration file, flag or value that cannot be used; the message says which and why. */
public class ConfigException extends GpudException {

    private final String setting;

    public ConfigException(String message) {
        this(null, message, null);
    }

    public ConfigException(String message, Throwable cause) {
        this(null, message, cause);
    }

    /** An error about {@code setting} (see {@link #setting()}). */
    ConfigException(String setting, String message, Throwable cause) {
        super(message, cause);
        this.setting = setting;
    }

    /**
     * A value of one setting that is invalid whatever the other settings are.
     *
     * @param setting its dotted name ({@code api.port})
     * @param detail  the rest of the message, after the name: {@code "was 70000, must be ..."}
     */
    static ConfigException invalid(String setting, String detail) {
        return new ConfigException(setting, setting + " " + detail, null);
    }

    /** This error, said to be in {@code file}. */
    ConfigException in(java.nio.file.Path file) {
        return new ConfigException(setting, file + ": " + getMessage(), this);
    }

    /**
     * The dotted name of the one setting whose own value is invalid; null when the error is
     * about a combination of settings, or the file as a whole.
     */
    public String setting() {
        return setting;
    }
}
