package io.gpud.inference;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Which served models hold their weights in memory now, and how long each stays there
 * after its last request ends (Ollama's {@code keep_alive}). A model that is not loaded is
 * still served: its next request loads it again.
 */
public interface Residency {

    /**
     * A model whose weights are in memory.
     *
     * @param engine    its engine
     * @param expiresAt when it unloads if no request comes first; null while requests run on
     *                  it or when it stays loaded for good
     */
    record Loaded(Engine engine, Instant expiresAt) {
    }

    /** The models loaded now. */
    List<Loaded> loaded();

    /**
     * Sets how long {@code name} stays loaded once no request runs on it: zero unloads it as
     * soon as its in-flight work ends, a negative duration keeps it loaded for good. The
     * latest setting wins; it loads nothing.
     */
    void keepAlive(String name, Duration keepAlive);

    /** Models that are always loaded: every engine of {@code catalog}, for good; keep-alives change nothing. */
    static Residency always(ModelCatalog catalog) {
        return new Residency() {
            @Override
            public List<Loaded> loaded() {
                return catalog.engines().stream().map(e -> new Loaded(e, null)).toList();
            }

            @Override
            public void keepAlive(String name, Duration keepAlive) {
            }
        };
    }
}
