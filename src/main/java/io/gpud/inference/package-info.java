/**
 * The inference engine: model architectures, tokenizers, sampler and scheduler.
 *
 * <p>Start with {@link io.gpud.inference.Engine}, the contract every backend implements,
 * and {@link io.gpud.inference.ModelCatalog}, the models a node serves.
 * {@link io.gpud.inference.CpuEngine#load} loads a GGUF or llama2.c model and starts the CPU
 * engine on it; the forward pass itself is in {@code Llama}, whose header explains it.
 * {@link io.gpud.inference.DemoModel} writes a small random-weight model for demos and tests.
 */
package io.gpud.inference;
