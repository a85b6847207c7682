package io.gpud.inference;

/**
 * Penalties on tokens already in the context, applied to the logits before sampling.
 *
 * @param presence   OpenAI's {@code presence_penalty}: subtracted once from the logit of every
 *                   token that appeared, in [-2, 2]; 0 disables it
 * @param frequency  OpenAI's {@code frequency_penalty}: subtracted from a token's logit once per
 *                   time it appeared, in [-2, 2]; 0 disables it
 * @param repetition the {@code repetition_penalty}/{@code repeat_penalty} of llama.cpp and
 *                   Hugging Face: a positive logit of a token that appeared is divided by it, a
 *                   negative one multiplied, &gt; 0; 1 disables it
 * @param lastN      how many of the latest tokens (prompt and generated) count; 0 disables all
 *                   three, -1 is the whole context
 * @param outputOnly presence and frequency count only generated tokens (OpenAI's and vLLM's
 *                   reading), where llama.cpp and Ollama count the prompt's too; repetition
 *                   always counts both
 */
public record Penalties(float presence, float frequency, float repetition, int lastN, boolean outputOnly) {

    public static final Penalties NONE = new Penalties(0f, 0f, 1f, 0);

    public Penalties {
        if (!(presence >= -2f && presence <= 2f)) {
            throw new IllegalArgumentException("presence was " + presence + ", must be in [-2, 2]");
        }
        if (!(frequency >= -2f && frequency <= 2f)) {
            throw new IllegalArgumentException("frequency was " + frequency + ", must be in [-2, 2]");
        }
        if (!(repetition > 0f) || Float.isInfinite(repetition)) {
            throw new IllegalArgumentException("repetition was " + repetition + ", must be > 0");
        }
        if (lastN < -1) {
            throw new IllegalArgumentException("lastN was " + lastN + ", must be >= -1");
        }
    }

    /** Penalties as llama.cpp applies them, every one over prompt and output. */
    public Penalties(float presence, float frequency, float repetition, int lastN) {
        this(presence, frequency, repetition, lastN, false);
    }

    /** Whether presence or frequency changes anything. */
    boolean countsOccurrences() {
        return lastN != 0 && (presence != 0f || frequency != 0f);
    }

    /** Whether applying them changes nothing. */
    public boolean none() {
        return lastN == 0 || (presence == 0f && frequency == 0f && repetition == 1f);
    }
}
