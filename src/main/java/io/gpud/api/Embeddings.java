package io.gpud.api;

import io.gpud.inference.Admission;
import io.gpud.inference.EmbeddingListener;
import io.gpud.inference.EmbeddingRequest;
import io.gpud.inference.Engine;
import io.gpud.inference.Generation;
import io.gpud.core.Ids;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Embeds a request's inputs with a served model: each input is one
 * {@link EmbeddingRequest} (mean-pooled final hidden state, normalised), all admitted
 * together (a refusal of one cancels the others) and batched by the engine's scheduler;
 * the request's thread waits for all of them. What the OpenAI and Ollama embedding routes
 * share.
 */
final class Embeddings {

    /** Most inputs one request may carry (OpenAI's limit). */
    static final int MAX_INPUTS = 2048;

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

    Embeddings(Generations generations, ApiMetrics metrics, Duration retryAfter) {
        this.generations = generations;
        this.metrics = metrics;
        this.retryAfter = retryAfter;
    }

    /** An input's vector, or why it failed, with its index. */
    private record Outcome(int index, float[] vector, RuntimeException failure) {
    }

    /**
     * Embeds {@code inputs} with {@code model}.
     *
     * @param param the request field that carried the inputs, for error messages
     */
    Embedded embed(String model, List<Input> inputs, String param) {
        if (inputs.isEmpty()) {
            throw ApiException.invalid(param, "'" + param + "' is empty; at least one input is required");
        }
        if (inputs.size() > MAX_INPUTS) {
            throw ApiException.invalid(param, "'" + param + "' has " + inputs.size() + " inputs, at most "
                    + MAX_INPUTS + " are allowed");
        }
        Engine engine = generations.engine(model);
        List<int[]> encoded = new ArrayList<>(inputs.size());
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String inputParam = inputs.size() == 1 ? param : param + "[" + i + "]";
            int[] ids = encode(engine, inputs.get(i), inputParam);
            if (ids.length > engine.info().contextLength()) {
                throw ApiException.contextLengthExceeded(inputParam, ids.length, engine.info().contextLength());
            }
            encoded.add(ids);
            tokens += ids.length;
        }
        var outcomes = new LinkedBlockingQueue<Outcome>();
        var admitted = new ArrayList<Generation>(encoded.size());
        float[][] vectors = new float[encoded.size()][];
        int done = 0;
        try {
            for (int i = 0; i < encoded.size(); i++) {
                int index = i;
                var request = new EmbeddingRequest(Ids.random("emb-", 20), encoded.get(i), true);
                switch (engine.embed(request, new EmbeddingListener() {
                    @Override
                    public void onEmbedding(float[] vector) {
                        outcomes.add(new Outcome(index, vector, null));
                    }

                    @Override
                    public void onFailure(RuntimeException error) {
                        outcomes.add(new Outcome(index, null, error));
                    }
                })) {
                    case Admission.Accepted a -> admitted.add(a.generation());
                    case Admission.Rejected r -> throw ApiException.overloaded(r.reason(), r.retryAfter());
                    case Admission.Refused r -> throw ApiException.invalid("model", r.reason());
                }
            }
            metrics.promptTokens.add(tokens, engine.info().name());
            for (; done < encoded.size(); done++) {
                Outcome o = outcomes.take();
                if (o.failure() != null) {
                    throw ApiException.internal("embedding input " + o.index() + " failed", o.failure());
                }
                vectors[o.index()] = o.vector();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("the server is stopping", retryAfter);
        } finally {
            if (done < encoded.size()) {
                admitted.forEach(Generation::cancel);
            }
        }
        return new Embedded(engine.info().name(), List.of(vectors), tokens);
    }

    private static int[] encode(Engine engine, Input input, String param) {
        int[] ids = switch (input) {
            case Input.Text t -> {
                if (t.text().isEmpty()) {
                    throw ApiException.invalid(param, "'" + param + "' is an empty string; there is nothing to embed");
                }
                yield engine.tokenizer().encode(t.text(), true);
            }
            case Input.TokenIds t -> t.ids();
        };
        if (ids.length == 0) {
            throw ApiException.invalid(param, "'" + param + "' is empty; there is nothing to embed");
        }
        return Generations.checkIds(ids, engine.tokenizer().vocabSize(), param);
    }
}
