package io.gpud.inference;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One admitted request as every backend runs it: the request, its listener, its sampler
 * and the text released to the client. Each token comes from the tokens the request's
 * {@link TokenConstraint} allows, if it has one, and the constraint then accepts it. The
 * end-of-generation token (one the constraint allowed, even with {@code ignoreEos}), a stop sequence,
 * {@code maxTokens} or a full cache end it; each sampled token goes to the listener with
 * the text it made final, and exactly one of {@code onDone}/{@code onFailure} comes last.
 * {@link #advance} says when the run has ended, so the engine frees its place in the batch
 * before {@link #finish} tells the listener. Used by one scheduler thread, except
 * {@link #cancel}, which any thread may call.
 */
public final class SequenceRun implements Generation {
    private static final Logger LOG = LoggerFactory.getLogger(SequenceRun.class);

    private final GenerationRequest request;
    private final GenerationListener listener;
    private final Tokenizer tokenizer;
    private final Sampler sampler;
    private final TextStream text;
    private final long submittedNanos;
    private final Consumer<SequenceRun> onCancel;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final AtomicBoolean finished = new AtomicBoolean();
    private int capacity;
    private long startedNanos;
    private long promptDoneNanos;
    private int position;
    private int nextToken;
    private int previous;
    private int generated;

    /**
     * @param onCancel told, on the cancelling thread, after the run is marked cancelled (an
     *                 engine takes a still-queued run out of its queue there)
     * @throws IllegalArgumentException for stop sequences on a model without a tokenizer
     */
    public SequenceRun(GenerationRequest request, GenerationListener listener, Tokenizer tokenizer,
                       long submittedNanos, Consumer<SequenceRun> onCancel) {
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

    /** Marks the run cancelled; the scheduler finishes it before its next step. */
    @Override
    public void cancel() {
        cancelled.set(true);
        onCancel.accept(this);
    }

    public boolean cancelled() {
        return cancelled.get();
    }

    /** The run enters the batch with a cache of {@code capacity} positions. */
    public void start(int capacity, long nowNanos) {
        this.capacity = capacity;
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
        } else {
            position++;
        }
        TokenConstraint constraint = request.constraint();
        int next = sampler.sample(logits, constraint);
        if (constraint != null) {
            constraint.accept(next);
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
        listener.onToken(next, piece);
        boolean stopped = text != null && text.stopped();
        if (end || stopped || full) {
            return end || stopped ? FinishReason.STOP : FinishReason.LENGTH;
        }
        nextToken = next;
        previous = next;
        return null;
    }

    /** Ends the run with {@code reason} (for instance {@link FinishReason#CANCELLED}), once. */
    public void finish(FinishReason reason, long nowNanos) {
        if (!finished.compareAndSet(false, true)) {
            return;
        }
        int prompt = request.promptTokens().length;
        Completion completion;
        if (startedNanos == 0) {
            completion = new Completion(reason, 0, 0, nowNanos - submittedNanos, 0, 0);
        } else if (promptDoneNanos == 0) {
            completion = new Completion(reason, prompt, 0, startedNanos - submittedNanos, nowNanos - startedNanos, 0);
        } else {
            completion = new Completion(reason, prompt, generated, startedNanos - submittedNanos,
                    promptDoneNanos - startedNanos, nowNanos - promptDoneNanos);
        }
        listener.onDone(completion);
    }

    /** Ends the run with a failure, once. */
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
