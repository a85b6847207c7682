package io.gpud.inference;

/** Receives one embedding, on an engine thread; exactly one method is called. Must not block. */
public interface EmbeddingListener {

    /** The pooled vector, of the model's embedding width. */
    void onEmbedding(float[] vector);

    /** The embedding failed or was cancelled. */
    void onFailure(RuntimeException error);
}
