package io.gpud.scaling;

import io.gpud.core.GpudException;

/**
 * An unexpected failure of the autoscaler or of its AWS calls (Auto Scaling, IMDS), with
 * the SDK's or the HTTP client's exception as the cause.
 */
public class ScalingException extends GpudException {
    public ScalingException(String message) {
        super(message);
    }

    public ScalingException(String message, Throwable cause) {
        super(message, cause);
    }
}
