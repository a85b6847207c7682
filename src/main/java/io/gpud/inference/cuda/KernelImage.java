package io.gpud.inference.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The compiled kernels of {@code src/main/cuda/llama.cu}, from the class path: a fatbin
 * (SASS for sm_80 and sm_90 plus PTX) and the PTX alone (ISA 8.0, for drivers that refuse
 * the fatbin), with the SHA-256 of the sources they were built from.
 * {@code src/main/cuda/build-kernels.sh} writes them; the build rebuilds them when nvcc is
 * present and fails when the committed ones are out of date.
 */
record KernelImage(byte[] fatbin, byte[] ptx, String sourcesHash) {
    static final String RESOURCE_DIR = "/io/gpud/inference/cuda/";

    /** Every kernel the engine looks up by name. */
    static final List<String> KERNELS = List.of(
            "matvec_f32", "matvec_f16", "matvec_bf16", "matvec_q8_0",
            "swiglu_f32", "swiglu_f16", "swiglu_bf16", "swiglu_q8_0",
            "embed_f32", "embed_f16", "embed_bf16", "embed_q8_0",
            "rmsnorm", "rope_store_kv", "attention", "zero_words", "count_nonzero_words");

    static KernelImage load() {
        byte[] fatbin = resource("llama.fatbin");
        byte[] ptx = resource("llama.ptx");
        // the driver reads PTX as a C string
        byte[] terminated = new byte[ptx.length + 1];
        System.arraycopy(ptx, 0, terminated, 0, ptx.length);
        String hash = new String(resource("llama.sources.sha256"), StandardCharsets.US_ASCII).strip();
        return new KernelImage(fatbin, terminated, hash);
    }

    private static byte[] resource(String name) {
        try (InputStream in = KernelImage.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new CudaBackendException("kernel resource " + RESOURCE_DIR + name + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new CudaBackendException("cannot read kernel resource " + RESOURCE_DIR + name + ": " + e.getMessage(), e);
        }
    }

    /** The PTX text, without the terminating zero. */
    String ptxText() {
        return new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII);
    }
}
