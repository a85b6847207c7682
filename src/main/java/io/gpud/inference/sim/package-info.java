/**
 * The simulated GPU ({@code engine.backend: sim}): an engine that tokenizes, admits, batches,
 * queues, refuses and streams exactly as the real one, through the same
 * {@link io.gpud.inference.EngineScheduler} and {@link io.gpud.inference.PrefixCache}, but
 * whose steps take the time a model of a GPU says instead of computing anything, and whose
 * replies are made-up text of the requested length. It lets one small machine run a fleet
 * of nodes that behave, under load, like GPU hosts: for routing benchmarks and the cluster
 * proving ground. {@code secure.environment: production} refuses it.
 *
 * <p>Start with {@link io.gpud.inference.sim.SimProfile}, the GPU model: its step formula,
 * its two profiles ({@code l40s-llama-3.1-8b-fp16}, the default, and
 * {@code l40s-llama-3.1-8b-int4}) and the published figures behind every constant. Then
 * {@link io.gpud.inference.sim.SimBackend}, the step the scheduler drives and how it waits;
 * {@code SimReplies} makes the replies.
 */
package io.gpud.inference.sim;
