package io.gpud.inference;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One admitted embedding: its tokens run as a prompt, the backend hands over the final
 * hidden state (after the output norm) of every position in order ({@link #pool}), and
 * the run sums them in double precision. Once every position is in, {@link #complete}
 * gives the mean, scaled to unit L2 length when asked as llama.cpp's
 * {@code common_embd_normalize} does (the sum of squares in double, then each component
 * times the float reciprocal of its root; a zero vector stays zero). The sum runs in
 * position order whatever the batching, so the vector does not depend on what ran beside
 * it. Used by one scheduler thread, except {@link #cancel}.
 */
final class EmbeddingRun implements Run {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddingRun.class);

    private final EmbeddingRequest request;
    private final EmbeddingListener listener;
    private final Consumer<Run> onCancel;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final AtomicBoolean finished = new AtomicBoolean();
    private double[] sum;
    private int pooled;

    /**
     * @param onCancel told, on the cancelling thread, after the run is marked cancelled (the
     *                 engine takes a still-queued run out of its queue there)
     */
    EmbeddingRun(EmbeddingRequest request, EmbeddingListener listener, Consumer<Run> onCancel) {
        this.request = request;
        this.listener = listener;
        this.onCancel = onCancel;
    }

    @Override
    public String requestId() {
        return request.requestId();
    }

    @Override
    public void cancel() {
        cancelled.set(true);
        onCancel.accept(this);
    }

    @Override
    public boolean cancelled() {
        return cancelled.get();
    }

    @Override
    public int[] promptTokens() {
        return request.tokens();
    }

    /** Every row's hidden state is needed, so nothing is reused; nothing is left for generations either. */
    @Override
    public PrefixCache.Use cacheUse() {
        return PrefixCache.Use.UNSHARED;
    }

    @Override
    public int cachePositions(int limit) {
        return Math.min(limit, request.tokens().length);
    }

    @Override
    public void start(int capacity, int reusedTokens, long nowNanos) {
    }

    /** Adds the final hidden state of the next position, {@code hidden[0, width)}. */
    void pool(float[] hidden, int width) {
        if (sum == null) {
            sum = new double[width];
        }
        for (int i = 0; i < width; i++) {
            sum[i] += hidden[i];
        }
        pooled++;
    }

    /** Hands the pooled vector to the listener, once every position is in. */
    void complete() {
        if (pooled != request.tokens().length) {
            throw new IllegalStateException("embedding " + request.requestId() + " pooled " + pooled + " of "
                    + request.tokens().length + " positions");
        }
        float[] vector = new float[sum.length];
        for (int i = 0; i < vector.length; i++) {
            vector[i] = (float) (sum[i] / pooled);
        }
        if (request.normalize()) {
            double squares = 0;
            for (float v : vector) {
                squares += v * v;
            }
            double length = Math.sqrt(squares);
            float scale = length > 0 ? (float) (1 / length) : 0f;
            for (int i = 0; i < vector.length; i++) {
                vector[i] *= scale;
            }
        }
        if (finished.compareAndSet(false, true)) {
            listener.onEmbedding(vector);
        }
    }

    @Override
    public void finish(FinishReason reason, long nowNanos) {
        String why = reason == FinishReason.CANCELLED ? "was cancelled" : "ended (" + reason + ")";
        fail(new InferenceException("embedding " + request.requestId() + " " + why + " before its vector"));
    }

    @Override
    public void fail(RuntimeException error) {
        if (finished.compareAndSet(false, true)) {
            try {
                listener.onFailure(error);
            } catch (RuntimeException listenerError) {
                LOG.warn("listener of embedding {} failed while handling a failure", request.requestId(), listenerError);
            }
        } else {
            LOG.warn("embedding {} failed after it finished", request.requestId(), error);
        }
    }
}
