package io.gpud.inference;

import java.util.List;
import java.util.Optional;

/** The models this node serves right now. The list may change (hot reload). */
public interface ModelCatalog {

    /** {@link #version}'s answer for a model that did not come from the model store. */
    String UNVERSIONED = "file";

    /** A snapshot of the engines currently serving. */
    List<Engine> engines();

    /** The engine serving {@code name}, if any. */
    default Optional<Engine> find(String name) {
        return engines().stream().filter(e -> e.info().name().equals(name)).findFirst();
    }

    /** The version of {@code name} being served: its model store version, or {@code file}. */
    default String version(String name) {
        return UNVERSIONED;
    }

    /** Which models are loaded now and how long they stay; by default all of them, for good. */
    default Residency residency() {
        return Residency.always(this);
    }

    /** Sequences in flight over all engines. */
    default int inFlight() {
        return engines().stream().mapToInt(Engine::inFlight).sum();
    }

    /** Sequences queued over all engines. */
    default int queueDepth() {
        return engines().stream().mapToInt(Engine::queueDepth).sum();
    }
}
