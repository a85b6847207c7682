package io.gpud.api;

/** The answer to {@code gpud model load}: a reload started, or why not. */
public sealed interface ModelReload {

    /** Loading {@code model@version} in the background; {@code gpud status} shows its progress. */
    record Started(String model, String version) implements ModelReload {
    }

    /** Nothing started: no such model or version, a reload already running, no store. */
    record Refused(String reason) implements ModelReload {
    }
}
