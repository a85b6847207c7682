package io.gpud.inference;

/** A handle on one admitted request. */
public interface Generation {

    /** The id given in the request. */
    String requestId();

    /**
     * Stops the generation at the next step (for instance when the client went away). The
     * listener then receives {@link GenerationListener#onDone} with
     * {@link FinishReason#CANCELLED}. Safe to call more than once and from any thread.
     */
    void cancel();
}
