package io.gpud.inference;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The arithmetic of one engine on one device, driven by {@link EngineScheduler}: it holds
 * the weights and the sequences' KV caches and runs steps. The scheduler decides who runs;
 * the backend decides how a step batches the sequences it is given. Every method runs on
 * the scheduler's thread, which opens the backend and closes it (a CUDA context belongs to
 * one thread).
 *
 * @param <P> a sequence's place on the device: its KV cache, or the slot that holds it
 */
public interface StepBackend<P> {

    /** Where the model runs, for logs and status: {@code cpu}, or the GPU's name. */
    String device();

    /** What the model is. */
    ModelInfo info();

    /** The model's tokenizer. */
    Tokenizer tokenizer();

    /** How chat messages become the model's prompt. */
    ChatTemplate chatTemplate();

    /** Most sequences that run at once. */
    int maxSequences();

    /** Most positions one sequence can hold: the context, or less where a device cuts its cache into slots. */
    int positionLimit();

    /**
     * Why a sequence of {@code positions} positions can never run here, whatever else runs
     * (its cache alone is larger than the budget), naming the numbers; empty when it can.
     */
    Optional<String> neverHolds(int positions);

    /**
     * A place for a sequence of {@code positions} positions whose prompt is {@code prompt},
     * or null while the running ones leave no room. A backend with a prefix cache
     * ({@link PrefixCache}) may hand a {@link PrefixCache.Use#SHARED} sequence a place that
     * already holds the keys and values of the start of its prompt
     * ({@link #reusedTokens}); {@code names} are the prompt's block names when a router
     * computed them, else null.
     */
    P claim(int[] prompt, long[] names, int positions, PrefixCache.Use use);

    /**
     * Prompt tokens whose keys and values {@code place} already held when claimed: the
     * scheduler feeds the prompt from there. Less than the prompt's length: its last token
     * always runs, for the logits of the first new token.
     */
    default int reusedTokens(P place) {
        return 0;
    }

    /** The prefix cache over this backend's KV memory, if it has one. */
    default Optional<PrefixCacheView> prefixCache() {
        return Optional.empty();
    }

    /**
     * Why this backend cannot compute embeddings, naming the device; empty when it can. One
     * that can hands the final hidden state of an embedding's every prompt row to
     * {@link Sequence#pool} in {@link #step}.
     */
    default Optional<String> refusesEmbeddings() {
        return Optional.of("the " + device() + " backend does not compute embeddings");
    }

    /**
     * Runs one step over {@code running} (in admission order): feeds prompt tokens
     * ({@link Sequence#feed}) and the next token of generating sequences, hands every
     * sequence whose logits it computed to {@code out}, and the final hidden state of each
     * prompt row of an {@link Sequence#embedding} to its {@link Sequence#pool}, in position
     * order. The logits stay valid until the next step.
     */
    void step(List<Sequence<P>> running, StepOutput<P> out);

    /**
     * Whether the device still works after a step failed with {@code failure}: a CPU's does;
     * a GPU context after a failed launch does not, and the engine is quarantined.
     */
    boolean survives(RuntimeException failure);

    /** Frees a place; empty when the memory it used reads back clean, else what was found. */
    Optional<String> release(P place);

    /** Frees the weights and the device, once, last; empty when the memory read back clean, else what was found. */
    Optional<String> close();

    /** The sequences of one step that got logits, in order; reused from step to step. */
    final class StepOutput<P> {
        private final Object[] sequences;
        private final float[][] logits;
        private int count;

        StepOutput(int capacity) {
            sequences = new Object[capacity];
            logits = new float[capacity][];
        }

        /** {@code sequence} samples its next token from {@code values}. */
        public void add(Sequence<P> sequence, float[] values) {
            sequences[count] = sequence;
            logits[count++] = values;
        }

        int count() {
            return count;
        }

        @SuppressWarnings("unchecked")
        Sequence<P> sequence(int i) {
            return (Sequence<P>) sequences[i];
        }

        float[] logits(int i) {
            return logits[i];
        }

        void clear() {
            Arrays.fill(sequences, 0, count, null);
            Arrays.fill(logits, 0, count, null);
            count = 0;
        }
    }
}
