package io.gpud.api;

import io.gpud.core.Ids;
import io.gpud.core.NodeState;
import io.gpud.core.Time;
import io.gpud.inference.Admission;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.Engine;
import io.gpud.inference.FinishReason;
import io.gpud.inference.Generation;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.Penalties;
import io.gpud.inference.PrefixCacheView;
import io.gpud.inference.PrefixHashes;
import io.gpud.inference.Sampling;
import io.gpud.inference.TokenConstraint;
import io.gpud.inference.TokenLogprobs;
import io.gpud.inference.Tokenizer;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the OpenAI and Ollama handlers share: admit a generation (node state, model,
 * tokenization, context budget, engine admission) and drive it to its end on the
 * request's thread.
 */
final class Generations {

    /** A prompt as the client sent it. */
    sealed interface Prompt {
        /** Plain text, encoded with BOS. */
        record Text(String text) implements Prompt {
        }

        /** Token ids, used as given. */
        record TokenIds(int[] ids) implements Prompt {
        }

        /** A conversation, rendered with the model's chat template. */
        record Chat(ChatTemplate.Conversation conversation) implements Prompt {
        }
    }

    /** {@link Params#maxTokens} value: use the configured default. */
    static final int DEFAULT_MAX_TOKENS = 0;
    /** {@link Params#maxTokens} value: generate until the context is full. */
    static final int FILL_CONTEXT = -1;

    /**
     * One request, validated except for what needs the model.
     *
     * @param model       the model name as sent
     * @param prompt      what to continue
     * @param promptParam the request field that carried the prompt, for error messages
     * @param maxTokens   tokens to generate at most, or {@link #DEFAULT_MAX_TOKENS} or {@link #FILL_CONTEXT}
     * @param sampling    how to choose tokens
     * @param stop        stop sequences
     * @param penalties   penalties on tokens already in the context
     * @param topLogprobs alternatives per token's log-probabilities, or -1 for none
     * @param constrain   the constraint on what may be generated, or null
     * @param prefixNames the names of the prompt's whole KV blocks as the peer that routed the
     *                    request here computed them, or null ({@code GenerationRequest#prefixNames})
     * @param isolated    a secure-envelope request: its keys and values are its own, never
     *                    reused from or left in the engine's prefix cache
     *                    ({@link GenerationRequest#isolated})
     */
    record Params(String model, Prompt prompt, String promptParam, int maxTokens, Sampling sampling,
                  List<String> stop, Penalties penalties, int topLogprobs, Constrain constrain,
                  long[] prefixNames, boolean isolated) {

        /** Parameters of a request that shares the prefix cache, with the block names a peer computed or null. */
        Params(String model, Prompt prompt, String promptParam, int maxTokens, Sampling sampling,
               List<String> stop, Penalties penalties, int topLogprobs, Constrain constrain, long[] prefixNames) {
            this(model, prompt, promptParam, maxTokens, sampling, stop, penalties, topLogprobs, constrain, prefixNames,
                    false);
        }

        /** Parameters without block names: the engine names the prompt's blocks itself. */
        Params(String model, Prompt prompt, String promptParam, int maxTokens, Sampling sampling,
               List<String> stop, Penalties penalties, int topLogprobs, Constrain constrain) {
            this(model, prompt, promptParam, maxTokens, sampling, stop, penalties, topLogprobs, constrain, null);
        }

        /** Parameters with no penalties, no log-probabilities and no constraint. */
        Params(String model, Prompt prompt, String promptParam, int maxTokens, Sampling sampling,
               List<String> stop) {
            this(model, prompt, promptParam, maxTokens, sampling, stop, Penalties.NONE, -1, null);
        }

        /** The same parameters for a secure-envelope request. */
        Params isolate() {
            return new Params(model, prompt, promptParam, maxTokens, sampling, stop, penalties, topLogprobs, constrain,
                    prefixNames, true);
        }
    }

    /**
     * Builds a generation's constraint once its engine and token budget are known; throws an
     * {@link ApiException} naming the request field when it cannot be met.
     */
    interface Constrain {
        TokenConstraint start(Engine engine, int maxTokens);
    }

    /**
     * An admitted generation.
     *
     * @param engine       the engine running it
     * @param generation   its handle
     * @param stream       its events
     * @param startNanos   when the request began
     * @param promptText   the rendered prompt of a chat, else null
     */
    record Started(Engine engine, Generation generation, TokenStream stream, long startNanos, String promptText) {
        String model() {
            return engine.info().name();
        }
    }

    /** Receives generated text on the request's thread; an IOException means the client is gone. */
    interface TextSink {
        void text(String text) throws IOException;
    }

    /**
     * Receives generated text and the log-probabilities of the tokens that produced it, on the
     * request's thread; an IOException means the client is gone.
     */
    interface TokenSink {
        void tokens(String text, List<TokenLogprobs> logprobs) throws IOException;
    }

    private final ModelCatalog catalog;
    private final ApiMetrics metrics;
    private final int defaultMaxTokens;
    private final Duration retryAfter;
    private final Time time;

    Generations(ModelCatalog catalog, ApiMetrics metrics, int defaultMaxTokens, Duration retryAfter, Time time) {
        this.time = time;
        this.catalog = catalog;
        this.metrics = metrics;
        this.defaultMaxTokens = defaultMaxTokens;
        this.retryAfter = retryAfter;
    }

    /** 503 unless a node in {@code state} takes new work. */
    void ensureAcceptingWork(NodeState state) {
        if (!state.acceptsWork()) {
            throw ApiException.unavailable("this node is " + state + " and takes no new requests; retry on another node",
                    retryAfter);
        }
    }

    /**
     * The engine serving {@code model}: its name, or Ollama's {@code name:tag} where the tag is
     * {@code latest} (the version serving now) or that version's name in the model store.
     */
    Engine engine(String model) {
        return catalog.find(model).or(() -> {
            int colon = model.lastIndexOf(':');
            if (colon < 0) {
                return Optional.empty();
            }
            String name = model.substring(0, colon);
            String tag = model.substring(colon + 1);
            return catalog.find(name).filter(e -> tag.equals("latest") || tag.equals(catalog.version(name)));
        }).orElseThrow(() -> ApiException.modelNotFound(model));
    }

    /** Admits the generation or throws the refusal (503, 404, 400, 429). */
    Started start(Params params, long startNanos) {
        return start(params, startNanos, engine(params.model()), Integer.MAX_VALUE);
    }

    /**
     * Admits the generation on {@code engine} with at most {@code contextLimit} tokens of
     * prompt and generated text together (Ollama's {@code num_ctx}), or throws the refusal.
     */
    Started start(Params params, long startNanos, Engine engine, int contextLimit) {
        Encoded encoded = encode(engine, params.prompt(), params.promptParam());
        int[] prompt = encoded.ids();
        // a device that cuts its cache into slots holds fewer positions than the context: the
        // budget (and so a constraint's plan to close its document) must fit the slot
        int context = Math.min(engine.positionLimit(), contextLimit);
        if (prompt.length >= context) {
            throw ApiException.contextLengthExceeded(params.promptParam(), prompt.length, context);
        }
        int room = context - prompt.length;
        int maxTokens = switch (params.maxTokens()) {
            case DEFAULT_MAX_TOKENS -> Math.min(defaultMaxTokens, room);
            case FILL_CONTEXT -> room;
            default -> Math.min(params.maxTokens(), room);
        };
        if (params.constrain() != null && !params.stop().isEmpty()) {
            // a stop sequence could cut the constrained document short of valid
            throw ApiException.invalid("stop", "'stop' cannot be combined with a structured output or a forced "
                    + "tool call: it could end the document before it is complete");
        }
        var stream = new TokenStream();
        TokenConstraint constraint = params.constrain() == null ? null : params.constrain().start(engine, maxTokens);
        var request = new GenerationRequest(Ids.random("req-", 20), prompt, maxTokens, params.sampling(),
                params.stop(), false, params.penalties(), params.topLogprobs(), constraint, params.isolated(),
                params.prefixNames());
        return switch (engine.submit(request, stream)) {
            case Admission.Accepted a -> {
                metrics.promptTokens.add(prompt.length, engine.info().name());
                yield new Started(engine, a.generation(), stream, startNanos, encoded.text());
            }
            case Admission.Rejected r -> throw ApiException.overloaded(r.reason(), r.retryAfter());
            case Admission.Refused r -> throw ApiException.exceedsEngine(r.reason());
        };
    }

    /** A prompt's token ids, and its text where it was a rendered conversation (else null). */
    private record Encoded(int[] ids, String text) {
    }

    private static final long[] NO_NAMES = new long[0];

    /**
     * The names of the KV blocks the engine could reuse for the prompt {@code params} asks
     * for, tokenized as {@link #start} will tokenize it on the engine that will run it
     * ({@link PrefixHashes}): what the router looks for in the hosts' caches. A prompt of L
     * tokens has (L − 1) / B of them for blocks of B tokens, not L / B: the engine always
     * computes the prompt's last token, so a block ending with it is never reused and must not
     * count for a host. Empty when this node does not serve the model, its engine keeps no
     * prefix cache, or the prompt is refused.
     */
    long[] prefixNames(Params params) {
        Engine engine;
        try {
            engine = engine(params.model());
        } catch (ApiException notServed) {
            return NO_NAMES;
        }
        Optional<PrefixCacheView> view = engine.prefixCache();
        if (view.isEmpty()) {
            return NO_NAMES;
        }
        int[] ids;
        try {
            ids = encode(engine, params.prompt(), params.promptParam()).ids();
        } catch (ApiException refused) {
            return NO_NAMES;
        }
        return PrefixHashes.of(view.get().seed(), ids, Math.max(0, ids.length - 1), view.get().blockTokens());
    }

    private static Encoded encode(Engine engine, Prompt prompt, String param) {
        Tokenizer tokenizer = engine.tokenizer();
        String rendered = null;
        int[] ids = switch (prompt) {
            case Prompt.Text t -> tokenizer.encode(t.text(), true);
            case Prompt.TokenIds t -> checkIds(t.ids(), tokenizer.vocabSize(), param);
            case Prompt.Chat c -> {
                ChatTemplate template = engine.chatTemplate();
                String text;
                try {
                    text = template.render(c.conversation(), true);
                } catch (IllegalArgumentException refused) {
                    throw ApiException.invalid(param, refused.getMessage());
                }
                rendered = text;
                yield tokenizer.encode(text, !template.includesBos());
            }
        };
        if (ids.length == 0) {
            throw ApiException.invalid(param, "'" + param + "' is empty");
        }
        return new Encoded(ids, rendered);
    }

    /** {@code ids}, when every one is in the vocabulary; else a 400 naming {@code param}. */
    static int[] checkIds(int[] ids, int vocabSize, String param) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw ApiException.invalid(param, "'" + param + "' token " + i + " is " + ids[i]
                        + ", outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        return ids;
    }

    /**
     * Delivers the generation's text to {@code sink} batch by batch until it ends. Returns
     * its completion, or null when the sink failed (the client went away), in which case
     * the generation has been cancelled. A failed or engine-cancelled generation is thrown
     * as an {@link ApiException}.
     */
    Completion drive(Started started, TextSink sink) {
        return drive(started, (text, logprobs) -> {
            if (!text.isEmpty()) {
                sink.text(text);
            }
        });
    }

    /** {@link #drive(Started, TextSink)} with the tokens' log-probabilities, where the request asked for them. */
    Completion drive(Started started, TokenSink sink) {
        boolean first = true;
        while (true) {
            TokenStream.Batch batch;
            try {
                batch = started.stream().next();
            } catch (InterruptedException e) {
                started.generation().cancel();
                Thread.currentThread().interrupt();
                throw ApiException.unavailable("the server is stopping", retryAfter);
            }
            if (batch.tokens() > 0) {
                if (first) {
                    first = false;
                    metrics.timeToFirstToken.observe((time.nanos() - started.startNanos()) / 1e9, started.model());
                }
                metrics.generatedTokens.add(batch.tokens(), started.model());
            }
            if (!batch.text().isEmpty() || !batch.logprobs().isEmpty()) {
                try {
                    sink.tokens(batch.text(), batch.logprobs());
                } catch (IOException e) {
                    started.generation().cancel();
                    return null;
                }
            }
            if (batch.failure() != null) {
                throw ApiException.internal("generation failed", batch.failure());
            }
            if (batch.completion() != null) {
                if (batch.completion().finishReason() == FinishReason.CANCELLED) {
                    throw ApiException.unavailable("the generation was cancelled by the engine", retryAfter);
                }
                return batch.completion();
            }
        }
    }

    /** The events a streaming handler writes; a failed write means the client went away. */
    interface StreamBody {
        void write() throws IOException;
    }

    /**
     * Runs a streaming response: a failure after the stream began is sent as an error event in
     * the stream's own framing (an unexpected one as an internal error, logged); a failed write cancels the
     * generation. The stream is closed either way.
     */
    static void stream(Started started, Responses.Stream out, Errors.Dialect dialect, StreamBody body) {
        try (out) {
            try {
                body.write();
            } catch (RuntimeException e) {
                out.fail(e, dialect);
            }
        } catch (IOException e) {
            started.generation().cancel();
        }
    }

    /** OpenAI's and Ollama's name for how a generation ended. */
    static String finishReason(Completion completion) {
        return completion.finishReason() == FinishReason.LENGTH ? "length" : "stop";
    }
}
