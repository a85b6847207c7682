/**
 * The CUDA backend: the Llama forward pass on an NVIDIA GPU through the CUDA driver API
 * (JCuda, {@code libcuda.so.1}), with kernels compiled ahead of time from
 * {@code src/main/cuda/llama.cu} (no cuBLAS, no NVRTC).
 *
 * <p>Start with {@link io.gpud.inference.cuda.Backends}, which picks the CPU or the GPU for a
 * model as {@code engine.backend} says and says why in the log when it falls back, then
 * {@link io.gpud.inference.cuda.CudaBackend}, the steps the engine scheduler drives (KV slots,
 * memory hygiene), and
 * {@code CudaForward}, whose header explains the device layout, the kernels of a step and
 * the CUDA graphs decode runs as. {@code WeightUploader} streams weights to the device
 * through pinned buffers; {@code Q8Packing} is the Q8_0 layout the kernels read;
 * {@code KernelImage} the compiled kernels on the class path; {@code CudaProbe} what this
 * host has.
 */
package io.gpud.inference.cuda;
