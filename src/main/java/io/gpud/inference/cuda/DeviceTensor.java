package io.gpud.inference.cuda;

import io.gpud.inference.LlamaModel;
import io.gpud.model.GgmlType;
import jcuda.driver.CUdeviceptr;

/**
 * A weight matrix in device memory: {@code rows × cols} of {@code type}, row-major; for
 * Q8_0 in the layout of {@link Q8Packing}, {@code scales} pointing into the same allocation.
 */
record DeviceTensor(GgmlType type, CUdeviceptr data, CUdeviceptr scales, int rows, int cols, long bytes) {

    /**
     * Fails, naming the tensor and its type, when a matrix of {@code weights} has a type
     * without CUDA kernels (the K-quants, Q4_0 and the others the CPU engine reads); checked
     * before anything touches the device, so {@code engine.backend: auto} can fall back to
     * the CPU engine.
     */
    static void requireKernels(WeightSource weights) {
        requireKernel("token_embd", weights.tokenEmbedding().type());
        requireKernel("output", weights.classifier().type());
        for (int l = 0; l < weights.dimensions().layers(); l++) {
            LlamaModel.Layer layer = weights.layer(l);
            String p = "blk." + l + ".";
            requireKernel(p + "attn_q", layer.wq().type());
            requireKernel(p + "attn_k", layer.wk().type());
            requireKernel(p + "attn_v", layer.wv().type());
            requireKernel(p + "attn_output", layer.wo().type());
            requireKernel(p + "ffn_gate", layer.w1().type());
            requireKernel(p + "ffn_down", layer.w2().type());
            requireKernel(p + "ffn_up", layer.w3().type());
        }
    }

    private static void requireKernel(String tensor, GgmlType type) {
        switch (type) {
            case F32, F16, BF16, Q8_0 -> { }
            default -> throw new CudaBackendException("tensor " + tensor + " is " + type
                    + ", which has no CUDA kernel (the CUDA backend runs F32, F16, BF16 and Q8_0 weights)");
        }
    }

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
