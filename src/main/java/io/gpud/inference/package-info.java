/**
 * The inference engine: model architectures, tokenizers, sampler and scheduler.
 *
 * <p>Start with {@link io.gpud.inference.Engine}, the contract every backend implements,
 * and {@link io.gpud.inference.ModelCatalog}, the models a node serves.
 * {@link io.gpud.inference.EngineScheduler} is the one scheduler (queue, admission,
 * continuous batching, quarantine); it drives a {@link io.gpud.inference.StepBackend}, the
 * arithmetic on one device. {@link io.gpud.inference.CpuBackend#load} loads a GGUF,
 * safetensors or llama2.c model and starts an engine on the CPU. The forward pass
 * is in {@code Llama}, whose header explains it, for every {@code Architecture}, whose
 * hyperparameters and weights {@code ArchitectureLoader} reads; the kernels it calls
 * (matrix × vectors of every tensor type, split across threads by {@code Parallel}) are in
 * {@code FloatTensor}. The CPU backend's KV memory is in blocks ({@code Llama.KvBlocks}) that
 * {@link io.gpud.inference.PrefixCache} hands out and shares between requests with a common
 * prompt prefix; its header explains how.
 * Tokenizers: {@code SentencePieceTokenizer}, {@code ByteLevelBpeTokenizer}, built from
 * tokenizer.json by {@code HuggingFaceTokenizers}; chat templates: {@code JinjaChatTemplate};
 * a reply's reasoning and tool calls, in the syntax its template shows:
 * {@link io.gpud.inference.ReplyFormat}.
 * {@link io.gpud.inference.DemoModel} writes a small random-weight model for demos and tests.
 * Every backend runs a request through {@link io.gpud.inference.SequenceRun}, the one home
 * of its sampling, streaming and finishing rules (penalties, token constraints and
 * log-probabilities included), and an embedding through {@code EmbeddingRun}, which pools
 * what the backend hands it; other backends (the CUDA backend in
 * {@code io.gpud.inference.cuda}) see a loaded model through
 * {@link io.gpud.inference.LlamaModel}.
 */
package io.gpud.inference;
