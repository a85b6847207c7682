package io.gpud.inference;

/** Why a generation ended. */
public enum FinishReason {
    /** End-of-sequence token or a stop sequence. */
    STOP,
    /** {@code maxTokens} reached, or the context is full. */
    LENGTH,
    /** Cancelled by the caller (client gone, shutdown). */
    CANCELLED
}
