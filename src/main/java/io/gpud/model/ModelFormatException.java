package io.gpud.model;

import io.gpud.core.GpudException;

/**
 * A model or tokenizer file that cannot be read: wrong magic or version, a length or offset
 * outside the file, an unsupported tensor type. The message names the file item and the
 * numbers involved; I/O errors are wrapped and kept as the cause.
 */
public class ModelFormatException extends GpudException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
