package io.gpud.api;

import io.gpud.core.Ids;
import io.gpud.core.Time;
import io.gpud.inference.Admission;
import io.gpud.inference.EmbeddingListener;
import io.gpud.inference.EmbeddingRequest;
import io.gpud.inference.Engine;
import io.gpud.inference.Generation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Embeds a request's inputs with a served model, for the OpenAI route and both Ollama
 * routes: each input is one {@link EmbeddingRequest} (mean-pooled final hidden state,
 * normalised where the route asks), batched by the engine's scheduler beside whatever else
 * it runs.
 *
 * <p>Two steps, so that nothing runs for a request that is refused: {@link #prepare} reads
 * and checks every input (shape, vocabulary, length against the context, cutting it where
 * the route truncates, and the caps {@link #MAX_INPUTS} and {@link #MAX_TOTAL_TOKENS});
 * the route checks its own fields against the {@link Batch}; then {@link #embed} runs it.
 *
 * <p>Feeding: at most {@link #WINDOW} inputs of one request are admitted at a time, the
 * next submitted as one finishes, so a batch of any size up to the caps runs on an engine
 * whose queue is far smaller, and leaves the rest of the queue to other clients. When the
 * engine rejects an input as full: with inputs of this request still running, the request
 * waits for one of them to finish and tries again; with none running, it tries again every
 * {@link #RETRY_STEP} until {@link #PATIENCE} has passed without progress, then answers
 * 429. Only the very first input is answered 429 at once, as a chat is on a full node: no
 * work is lost yet and the client (or the router) may go elsewhere. A refusal, a failed
 * input, an interrupt (the server stopping) or any other exit before the last vector
 * cancels what this request still has in the engine.
 */
final class Embeddings {

    /** Most inputs one request may carry (OpenAI's limit). */
    static final int MAX_INPUTS = 2048;

    /** Most tokens one request's inputs may hold together, after truncation (OpenAI's limit). */
    static final int MAX_TOTAL_TOKENS = 300_000;

    /**
     * Inputs of one request admitted at a time: enough to fill a CPU engine's batch or most of
     * a GPU's, few enough that a large batch leaves queue places to other clients.
     */
    static final int WINDOW = 8;

    /** How long a batch under way waits for the engine to take its next input before 429. */
    static final Duration PATIENCE = Duration.ofSeconds(10);

    /** How often a batch with nothing running asks a full engine again. */
    static final Duration RETRY_STEP = Duration.ofMillis(50);

    /** One input as the client sent it. */
    sealed interface Input {
        /** Text, encoded with BOS as a prompt is. */
        record Text(String text) implements Input {
        }

        /** Token ids, used as given. */
        record TokenIds(int[] ids) implements Input {
        }
    }

    /**
     * How a route reads its inputs.
     *
     * @param param     the request field that carries the inputs, for error messages
     * @param maxTokens longest input, in tokens: the model's context or less (Ollama's {@code num_ctx})
     * @param truncate  cut a longer input to {@code maxTokens} (Ollama's {@code truncate}) instead of refusing it
     * @param normalize scale each vector to unit length
     */
    record Shape(String param, int maxTokens, boolean truncate, boolean normalize) {
    }

    /**
     * A request's inputs, checked and encoded, ready to {@link #embed}.
     *
     * @param engine       the served model's engine
     * @param tokens       one token array per input, in order, none empty
     * @param promptTokens tokens over all inputs
     * @param normalize    scale each vector to unit length
     */
    record Batch(Engine engine, List<int[]> tokens, int promptTokens, boolean normalize) {
    }

    /**
     * The vectors, in the inputs' order, and the tokens they took.
     *
     * @param model        the served model's name
     * @param vectors      one per input, of the model's embedding width
     * @param promptTokens tokens over all inputs
     */
    record Embedded(String model, List<float[]> vectors, int promptTokens) {
    }

    private final Generations generations;
    private final ApiMetrics metrics;
    private final Duration retryAfter;
    private final Time time;

    Embeddings(Generations generations, ApiMetrics metrics, Duration retryAfter, Time time) {
        this.generations = generations;
        this.metrics = metrics;
        this.retryAfter = retryAfter;
        this.time = time;
    }

    /** An input's vector, or why it failed, with its index. */
    private record Outcome(int index, float[] vector, RuntimeException failure) {
    }

    /**
     * Reads {@code inputs} for {@code model}, or throws a 400 naming the input at fault; runs
     * nothing. {@code shape.maxTokens()} is capped at the model's context.
     */
    Batch prepare(String model, List<Input> inputs, Shape shape) {
        String param = shape.param();
        if (inputs.isEmpty()) {
            throw ApiException.invalid(param, "'" + param + "' is empty; at least one input is required");
        }
        if (inputs.size() > MAX_INPUTS) {
            throw ApiException.invalid(param, "'" + param + "' has " + inputs.size() + " inputs, at most "
                    + MAX_INPUTS + " are allowed");
        }
        Engine engine = generations.engine(model);
        int maxTokens = Math.min(shape.maxTokens(), engine.info().contextLength());
        var encoded = new ArrayList<int[]>(inputs.size());
        long tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String inputParam = inputs.size() == 1 ? param : param + "[" + i + "]";
            int[] ids = encode(engine, inputs.get(i), inputParam);
            if (ids.length > maxTokens) {
                if (!shape.truncate()) {
                    throw ApiException.contextLengthExceeded(inputParam, ids.length, maxTokens);
                }
                ids = Arrays.copyOf(ids, maxTokens);
            }
            encoded.add(ids);
            tokens += ids.length;
        }
        if (tokens > MAX_TOTAL_TOKENS) {
            throw ApiException.invalid(param, "'" + param + "' holds " + tokens + " tokens in all, at most "
                    + MAX_TOTAL_TOKENS + " are allowed in one request; send the inputs in smaller batches");
        }
        return new Batch(engine, List.copyOf(encoded), (int) tokens, shape.normalize());
    }

    /** Embeds a prepared batch; throws 429, 400, 500 or 503 as the engine answers. */
    Embedded embed(Batch batch) {
        Engine engine = batch.engine();
        List<int[]> tokens = batch.tokens();
        var outcomes = new LinkedBlockingQueue<Outcome>();
        Map<Integer, Generation> running = new HashMap<>();
        float[][] vectors = new float[tokens.size()][];
        int next = 0;
        int done = 0;
        long giveUpAt = time.nanos() + PATIENCE.toNanos();
        try {
            while (done < tokens.size()) {
                Admission.Rejected full = null;
                while (full == null && next < tokens.size() && running.size() < WINDOW) {
                    var request = new EmbeddingRequest(Ids.random("emb-", 20), tokens.get(next), batch.normalize());
                    switch (engine.embed(request, listener(next, outcomes))) {
                        case Admission.Accepted a -> {
                            metrics.promptTokens.add(request.tokens().length, engine.info().name());
                            running.put(next++, a.generation());
                        }
                        case Admission.Rejected r -> full = r;
                        case Admission.Refused r -> throw ApiException.invalid("model", r.reason());
                    }
                }
                if (running.isEmpty()) {
                    // the engine is full of other clients' work: nothing of ours will finish to wake us
                    if (next == 0 || time.nanos() - giveUpAt >= 0) {
                        throw ApiException.overloaded(full.reason(), full.retryAfter());
                    }
                    time.sleep(RETRY_STEP);
                    continue;
                }
                Outcome o = outcomes.take();
                running.remove(o.index());
                if (o.failure() != null) {
                    throw ApiException.internal("embedding input " + o.index() + " failed", o.failure());
                }
                vectors[o.index()] = o.vector();
                done++;
                giveUpAt = time.nanos() + PATIENCE.toNanos();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("the server is stopping", retryAfter);
        } finally {
            running.values().forEach(Generation::cancel);
        }
        return new Embedded(engine.info().name(), List.of(vectors), batch.promptTokens());
    }

    private static EmbeddingListener listener(int index, LinkedBlockingQueue<Outcome> outcomes) {
        return new EmbeddingListener() {
            @Override
            public void onEmbedding(float[] vector) {
                outcomes.add(new Outcome(index, vector, null));
            }

            @Override
            public void onFailure(RuntimeException error) {
                outcomes.add(new Outcome(index, null, error));
            }
        };
    }

    private static int[] encode(Engine engine, Input input, String param) {
        int[] ids = switch (input) {
            case Input.Text t -> engine.tokenizer().encode(t.text(), true);
            case Input.TokenIds t -> t.ids();
        };
        if (ids.length == 0) {
            throw ApiException.invalid(param, "'" + param + "' is empty; there is nothing to embed");
        }
        return Generations.checkIds(ids, engine.tokenizer().vocabSize(), param);
    }
}
