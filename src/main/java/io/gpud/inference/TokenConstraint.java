package io.gpud.inference;

/**
 * Which tokens may come next in one generation: structured output (a JSON schema), a forced
 * tool call. One instance per sequence, stateful, used by the scheduler thread only.
 *
 * <p>The sampler asks {@link #allows} of the token it drew first and masks the logits only
 * when that token is refused, so a constraint whose model mostly agrees with it costs
 * little. Whatever state the constraint is in, at least one token is allowed: the
 * end-of-generation token once the document is complete.
 */
public interface TokenConstraint {

    /** Whether {@code token} may come next. */
    boolean allows(int token);

    /** Sets the logit of every token that may not come next to negative infinity. */
    void mask(float[] logits);

    /** The sampler chose {@code token} (which {@link #allows} said may come next). */
    void accept(int token);
}
