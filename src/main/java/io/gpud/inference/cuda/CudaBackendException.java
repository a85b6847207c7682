package io.gpud.inference.cuda;

import io.gpud.core.GpudException;

/**
 * A CUDA driver call failed, a kernel resource is missing, or device memory did not pass
 * its hygiene check. Driver errors carry the call and the driver's error name.
 */
public class CudaBackendException extends GpudException {
    public CudaBackendException(String message) {
        super(message);
    }

    public CudaBackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
