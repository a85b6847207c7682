package io.gpud.inference;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One admitted request as every backend runs it: the request, its listener, its sampler
 * and the text released to the client.
 *
 * <p>Each step processes the logits in this order: the request's {@link Penalties} over
 * the latest tokens of prompt and output ({@link TokenCounts}, as llama.cpp applies them);
 * then the {@link Sampler}, which draws from the tokens the request's
 * {@link TokenConstraint} allows, if it has one, and the constraint accepts the token.
 * When the request asks for log-probabilities they are those of the logits after the
 * penalties and the constraint's mask, at temperature 1, before any top-k/top-p
 * truncation: the model's distribution over the tokens that could come next, whatever the
 * sampling settings. (llama.cpp's server reports by default the softmax of the raw logits,
 * before penalties and grammar, and with {@code post_sampling_probs} the probabilities
 * after its whole sampling chain; ours are the first with the penalties and the mask, so a
 * constrained token never shows as impossible.) They cost a softmax over the vocabulary per token, only when asked, and
 * a constraint then masks at every step rather than only when it refuses a draw.
 *
 * <p>The end-of-generation token (one the constraint allowed, even with {@code ignoreEos}),
 * a stop sequence, {@code maxTokens} or a full cache end it; each sampled token goes to the
 * listener with the text it made final (and its log-probabilities when asked), and exactly
 * one of {@code onDone}/{@code onFailure} comes last.
 * {@link #advance} says when the run has ended, so the engine frees its place in the batch
 * before {@link #finish} tells the listener. Used by one scheduler thread, except
 * {@link #cancel}, which any thread may call.
 */
public final class SequenceRun implements Run {
    private static final Logger LOG = LoggerFactory.getLogger(SequenceRun.class);

    private final GenerationRequest request;
    private final GenerationListener listener;
    private final Tokenizer tokenizer;
    private final Sampler sampler;
    private final TextStream text;
    private final long submittedNanos;
    private final Consumer<? super SequenceRun> onCancel;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final AtomicBoolean finished = new AtomicBoolean();
    private int capacity;
    private int reused;
    private long startedNanos;
    private long promptDoneNanos;
    private int position;
    private int nextToken;
    private int previous;
    private int generated;
    private TokenCounts counts; // the penalties' counts, from the first advance; null without penalties
    private TokenCounts outputCounts; // presence and frequency over generated tokens only, where asked; else null

    /**
     * @param onCancel told, on the cancelling thread, after the run is marked cancelled (an
     *                 engine takes a still-queued run out of its queue there)
     * @throws IllegalArgumentException for stop sequences on a model without a tokenizer
     */
    public SequenceRun(GenerationRequest request, GenerationListener listener, Tokenizer tokenizer,
                       long submittedNanos, Consumer<? super SequenceRun> onCancel) {
        this.request = request;
        this.listener = listener;
        this.tokenizer = tokenizer;
        this.sampler = new Sampler(request.sampling());
        this.text = tokenizer instanceof IdOnlyTokenizer ? null : new TextStream(request.stop());
        if (text == null && !request.stop().isEmpty()) {
            throw new IllegalArgumentException("stop sequences need text, and this model has no tokenizer");
        }
        this.submittedNanos = submittedNanos;
        this.onCancel = onCancel;
        this.previous = request.promptTokens()[request.promptTokens().length - 1];
    }

    @Override
    public String requestId() {
        return request.requestId();
    }

    public GenerationRequest request() {
        return request;
    }

    @Override
    public int[] promptTokens() {
        return request.promptTokens();
    }

    @Override
    public int cachePositions(int limit) {
        return request.cachePositions(limit);
    }

    @Override
    public long[] prefixNames() {
        return request.prefixNames();
    }

    /** A secure-envelope request's keys and values are its own; any other shares its prefix. */
    @Override
    public PrefixCache.Use cacheUse() {
        return request.isolated() ? PrefixCache.Use.PRIVATE : PrefixCache.Use.SHARED;
    }

    /** Marks the run cancelled; the scheduler finishes it before its next step. */
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
    public void start(int capacity, int reusedTokens, long nowNanos) {
        this.capacity = capacity;
        this.reused = reusedTokens;
        this.startedNanos = nowNanos;
    }

    /** Whether its prompt has been run and it now generates one token per step. */
    public boolean generating() {
        return promptDoneNanos != 0;
    }

    /** The token to run next while generating, at {@link #position()}. */
    public int nextToken() {
        return nextToken;
    }

    public int position() {
        return position;
    }

    /**
     * Samples the next token from {@code logits} (the prompt's last row, or the last
     * generated token's) and tells the listener.
     *
     * @return null while the run goes on; else why it ended, for the engine to pass to
     *         {@link #finish} once the run has left the batch
     */
    public FinishReason advance(float[] logits, long nowNanos) {
        if (promptDoneNanos == 0) {
            promptDoneNanos = nowNanos;
            position = request.promptTokens().length;
            countPrompt(logits.length);
        } else {
            position++;
        }
        if (counts != null) {
            counts.apply(logits);
        }
        if (outputCounts != null) {
            outputCounts.apply(logits);
        }
        TokenConstraint constraint = request.constraint();
        boolean wantsLogprobs = request.topLogprobs() >= 0;
        if (wantsLogprobs && constraint != null) {
            constraint.mask(logits); // the log-probabilities are those of the masked distribution
        }
        int next = sampler.sample(logits, constraint);
        TokenLogprobs logprobs = wantsLogprobs ? Sampler.logprobs(logits, next, request.topLogprobs()) : null;
        if (constraint != null) {
            constraint.accept(next);
        }
        if (counts != null) {
            counts.add(next);
        }
        if (outputCounts != null) {
            outputCounts.add(next);
        }
        generated++;
        // a constraint allowed this end token, so its document is complete: it ends even with ignoreEos
        boolean end = (constraint != null || !request.ignoreEos()) && tokenizer.isEndOfGeneration(next);
        boolean full = generated >= request.maxTokens() || position >= capacity;
        String piece = "";
        if (text != null) {
            byte[] bytes = tokenizer instanceof SentencePieceTokenizer sp
                    ? sp.tokenBytes(previous, next)
                    : tokenizer.tokenBytes(next);
            piece = text.push(bytes, end || full);
        }
        listener.onToken(next, piece, logprobs);
        boolean stopped = text != null && text.stopped();
        if (end || stopped || full) {
            return end || stopped ? FinishReason.STOP : FinishReason.LENGTH;
        }
        nextToken = next;
        previous = next;
        return null;
    }

    /**
     * Starts the penalties' counts with the prompt's latest tokens; where presence and
     * frequency count only generated tokens, those two get counts of their own, which start
     * empty (repetition, applied first, keeps counting the prompt).
     */
    private void countPrompt(int vocabSize) {
        Penalties penalties = request.penalties();
        if (penalties.none()) {
            return;
        }
        Penalties withPrompt = penalties;
        if (penalties.outputOnly() && penalties.countsOccurrences()) {
            outputCounts = new TokenCounts(new Penalties(penalties.presence(), penalties.frequency(), 1f,
                    penalties.lastN()), vocabSize);
            withPrompt = new Penalties(0f, 0f, penalties.repetition(), penalties.lastN());
            if (withPrompt.none()) {
                return;
            }
        }
        counts = new TokenCounts(withPrompt, vocabSize);
        int[] tokens = request.promptTokens();
        int from = penalties.lastN() > 0 ? Math.max(0, tokens.length - penalties.lastN()) : 0;
        for (int i = from; i < tokens.length; i++) {
            counts.add(tokens[i]);
        }
    }

    /** Ends the run with {@code reason} (for instance {@link FinishReason#CANCELLED}), once. */
    @Override
    public void finish(FinishReason reason, long nowNanos) {
        if (!finished.compareAndSet(false, true)) {
            return;
        }
        int prompt = request.promptTokens().length;
        Completion completion;
        if (startedNanos == 0) {
            completion = new Completion(reason, 0, 0, nowNanos - submittedNanos, 0, 0);
        } else if (promptDoneNanos == 0) {
            completion = new Completion(reason, prompt, 0, startedNanos - submittedNanos, nowNanos - startedNanos, 0,
                    reused);
        } else {
            completion = new Completion(reason, prompt, generated, startedNanos - submittedNanos,
                    promptDoneNanos - startedNanos, nowNanos - promptDoneNanos, reused);
        }
        listener.onDone(completion);
    }

    /** Ends the run with a failure, once. */
    @Override
    public void fail(RuntimeException error) {
        if (finished.compareAndSet(false, true)) {
            try {
                listener.onFailure(error);
            } catch (RuntimeException listenerError) {
                LOG.warn("listener of request {} failed while handling a failure", request.requestId(), listenerError);
            }
        } else {
            LOG.warn("request {} failed after it finished", request.requestId(), error);
        }
    }
}
