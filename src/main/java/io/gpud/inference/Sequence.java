package io.gpud.inference;

/**
 * A running sequence as a {@link StepBackend} sees it: its run, its place on the device and
 * how much of its prompt has been fed. Scheduler thread only.
 *
 * @param <P> the backend's place for a sequence (a KV cache, a slot)
 */
public final class Sequence<P> {
    private final SequenceRun run;
    private final P place;
    private final int[] prompt;
    private int promptFed;

    Sequence(SequenceRun run, P place) {
        this.run = run;
        this.place = place;
        this.prompt = run.request().promptTokens();
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
        return run.generating();
    }

    /** The token to run next while generating. */
    public int nextToken() {
        return run.nextToken();
    }

    /** The position of {@link #nextToken()}. */
    public int position() {
        return run.position();
    }

    SequenceRun run() {
        return run;
    }
}
