package io.gpud.inference.cuda;

import io.gpud.model.GgmlType;
import jcuda.driver.CUdeviceptr;

/**
 * A weight matrix in device memory: {@code rows × cols} of {@code type}, row-major; for
 * Q8_0 in the layout of {@link Q8Packing}, {@code scales} pointing into the same allocation.
 */
record DeviceTensor(GgmlType type, CUdeviceptr data, CUdeviceptr scales, int rows, int cols, long bytes) {

    /** Device bytes a matrix of {@code type} with {@code elements} takes. */
    static long deviceBytes(GgmlType type, long elements) {
        return switch (type) {
            case F32 -> elements * Float.BYTES;
            case F16, BF16 -> elements * Short.BYTES;
            case Q8_0 -> Q8Packing.packedBytes(elements);
            default -> throw new CudaBackendException("no CUDA kernel for " + type + " weights");
        };
    }

    /** The kernel name suffix of its type: f32, f16, bf16, q8_0. */
    String suffix() {
        return suffix(type);
    }

    static String suffix(GgmlType type) {
        return switch (type) {
            case F32 -> "f32";
            case F16 -> "f16";
            case BF16 -> "bf16";
            case Q8_0 -> "q8_0";
            default -> throw new CudaBackendException("no CUDA kernel for " + type + " weights");
        };
    }
}
