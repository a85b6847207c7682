/**
 * The inference engine: model architectures, tokenizers, sampler and scheduler.
 *
 * <p>Start with {@link io.gpud.inference.Engine}, the contract every backend implements,
 * and {@link io.gpud.inference.ModelCatalog}, the models a node serves.
 */
package io.gpud.inference;
