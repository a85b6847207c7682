package io.gpud.config;

import io.gpud.core.GpudException;

/** A configuration file, flag or value that cannot be used; the message says which and why. */
public class ConfigException extends GpudException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
