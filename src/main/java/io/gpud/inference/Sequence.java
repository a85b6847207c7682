package io.gpud.inference;

/**
 * A running sequence as a {@link StepBackend} sees it: its run, its place on the device and
 * how much of its prompt has been fed. Scheduler thread only.
 *
 * @param <P> the backend's place for a sequence (a KV cache, a slot)
 */
public final class Sequence<P> {
    private final Run run;
    private final P place;
    private final int[] prompt;
    private int promptFed;

    /** A sequence whose first {@code reused} prompt tokens' keys and values its place already holds. */
    Sequence(Run run, P place, int reused) {
        this.run = run;
        this.place = place;
        this.prompt = run.promptTokens();
        if (reused < 0 || reused >= prompt.length && prompt.length > 0) {
            throw new IllegalArgumentException("reused " + reused + " of a prompt of " + prompt.length
                    + " tokens: its last token must run");
        }
        this.promptFed = reused;
    }

    public P place() {
        return place;
    }

    /** The prompt's token ids; not to be changed. */
    public int[] prompt() {
        return prompt;
    }

    /** Prompt tokens fed so far: the next prompt row is {@code prompt()[promptFed()]}, at that position. */
    public int promptFed() {
        return promptFed;
    }

    /** Prompt tokens not yet fed. */
    public int promptLeft() {
        return prompt.length - promptFed;
    }

    /** Marks the next {@code count} prompt tokens as fed; returns the position of the first. */
    public int feed(int count) {
        if (count < 1 || count > promptLeft()) {
            throw new IllegalArgumentException("feeding " + count + " of " + promptLeft() + " prompt tokens left");
        }
        int first = promptFed;
        promptFed += count;
        return first;
    }

    /** Whether its whole prompt has run and it now generates one token per step. */
    public boolean generating() {
        return run instanceof SequenceRun generation && generation.generating();
    }

    /** The token to run next while generating. */
    public int nextToken() {
        return generation().nextToken();
    }

    /** The position of {@link #nextToken()}. */
    public int position() {
        return generation().position();
    }

    /**
     * Whether it is an embedding: its prompt rows need the final hidden state, each handed
     * to {@link #pool} in position order, and no logits; it never generates.
     */
    public boolean embedding() {
        return run instanceof EmbeddingRun;
    }

    /** Takes the final hidden state (after the output norm) of its next prompt row, {@code hidden[0, width)}. */
    public void pool(float[] hidden, int width) {
        ((EmbeddingRun) run).pool(hidden, width);
    }

    Run run() {
        return run;
    }

    SequenceRun generation() {
        return (SequenceRun) run;
    }
}
