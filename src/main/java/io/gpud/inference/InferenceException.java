package io.gpud.inference;

import io.gpud.core.GpudException;

/**
 * A model that cannot be loaded or used for a request: an unsupported architecture, a
 * tensor of the wrong shape, a text request to a model without a tokenizer. File format
 * errors come as {@link io.gpud.model.ModelFormatException}.
 */
public class InferenceException extends GpudException {
    public InferenceException(String message) {
        super(message);
    }

    public InferenceException(String message, Throwable cause) {
        super(message, cause);
    }
}
