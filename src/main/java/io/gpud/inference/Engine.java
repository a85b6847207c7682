package io.gpud.inference;

import java.util.Optional;

/**
 * One loaded model that generates text: the contract between the inference subsystem and
 * everything that serves requests (the HTTP API, {@code gpud generate}, routing later).
 *
 * <p>{@link #submit} never blocks for long: it either admits the request into the engine's
 * bounded queue or returns {@link Admission.Rejected}. Tokens are delivered to the
 * {@link GenerationListener} from the engine's own threads, so listeners must be quick and
 * must not block (hand the events to the caller's thread through a queue).
 *
 * <p>One implementation schedules: {@link EngineScheduler}, over a {@link StepBackend} that
 * runs on the CPU ({@link CpuBackend}) or a GPU (the CUDA backend of
 * {@code io.gpud.inference.cuda}, whose {@code Backends} picks one of the two for a model).
 * The others wrap one: a model that can be reloaded, a request counter.
 */
public interface Engine extends AutoCloseable {

    /** What is loaded: name, format, size. */
    ModelInfo info();

    /**
     * Most positions (prompt and generated tokens) one sequence can hold here: the model's
     * context, or less where the device cuts its cache into slots.
     */
    default int positionLimit() {
        return info().contextLength();
    }

    /** The model's tokenizer (text ⇄ token ids). */
    Tokenizer tokenizer();

    /** How chat messages become a prompt for this model. */
    ChatTemplate chatTemplate();

    /** Where the model runs: {@code cpu}, or the GPU's name. */
    String device();

    /** Why the engine took itself out of service for good, if it did (see {@link EngineScheduler}). */
    Optional<String> quarantineReason();

    /** Admits a request or says why not. Never throws for a full queue. */
    Admission submit(GenerationRequest request, GenerationListener listener);

    /**
     * Admits an embedding or says why not: {@link Admission.Refused} where this engine cannot
     * embed. Never throws for a full queue.
     */
    default Admission embed(EmbeddingRequest request, EmbeddingListener listener) {
        return new Admission.Refused("the model " + info().name() + " on " + device() + " does not compute embeddings");
    }

    /** Whether {@link #embed} can be admitted here at all (a backend may not compute embeddings). */
    default boolean embeds() {
        return false;
    }

    /** The prefix cache of this engine's KV memory, if it has one ({@link PrefixCache}). */
    default Optional<PrefixCacheView> prefixCache() {
        return Optional.empty();
    }

    /** Sequences admitted and not finished, including queued ones. */
    int inFlight();

    /** Sequences admitted but not yet started. */
    int queueDepth();

    /** Stops accepting work, cancels what runs, frees the weights. */
    @Override
    void close();
}
