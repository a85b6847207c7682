package io.gpud.node;

import io.gpud.config.EngineConfig;
import io.gpud.inference.Engine;
import io.gpud.inference.cuda.Backends;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Starts an engine on a model file: on the configured backend in a node, on whatever a test needs in a test. */
@FunctionalInterface
public interface ModelLoader {

    /** The CPU or the GPU, as {@code engine.backend} says ({@link Backends#load}). */
    ModelLoader BACKENDS = Backends::load;

    /**
     * @param tokenizerFile      a separate tokenizer, or null
     * @param servedName         the name clients use, or null for the file's
     * @param quarantineListener hears, once, why the engine took itself out of service
     */
    Engine load(Path modelFile, Path tokenizerFile, String servedName, EngineConfig config,
                Consumer<String> quarantineListener);
}
