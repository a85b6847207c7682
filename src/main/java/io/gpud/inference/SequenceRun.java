package io.gpud.inference;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One admitted request as a backend outside this package runs it: the request, its
 * listener, its sampler and the text released to the client, with the same rules as the
 * CPU engine (see {@link CpuEngine}): the end-of-generation token, a stop sequence,
 * {@code maxTokens} or a full cache end it, each sampled token goes to the listener with
 * the text it made final, and exactly one of {@code onDone}/{@code onFailure} comes last.
 * Used by one scheduler thread, except {@link #cancel}, which any thread may call.
 */
public final class SequenceRun implements Generation {
    private final GenerationRequest request;
    private final GenerationListener listener;
    private final Tokenizer tokenizer;
    private final Sampler sampler;
    private final TextStream text;
    private final long submittedNanos;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final AtomicBoolean finished = new AtomicBoolean();
    private int capacity;
    private long startedNanos;
    private long promptDoneNanos;
    private int position;
    private int nextToken;
    private int previous;
    private int generated;

    /** @throws IllegalArgumentException for stop sequences on a model without a tokenizer */
    public SequenceRun(GenerationRequest request, GenerationListener listener, Tokenizer tokenizer,
                       long submittedNanos) {
        this.request = request;
        this.listener = listener;
        this.tokenizer = tokenizer;
        this.sampler = new Sampler(request.sampling());
        this.text = tokenizer instanceof IdOnlyTokenizer ? null : new TextStream(request.stop());
        if (text == null && !request.stop().isEmpty()) {
            throw new IllegalArgumentException("stop sequences need text, and this model has no tokenizer");
        }
        this.submittedNanos = submittedNanos;
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
    }

    public boolean cancelled() {
        return cancelled.get();
    }

    /** Positions its cache must hold: the prompt and the new tokens, at most {@code contextLength}. */
    public int cachePositions(int contextLength) {
        return (int) Math.min(contextLength, (long) request.promptTokens().length + request.maxTokens());
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
     * @return true when the run finished (the listener has heard {@code onDone})
     */
    public boolean advance(float[] logits, long nowNanos) {
        if (promptDoneNanos == 0) {
            promptDoneNanos = nowNanos;
            position = request.promptTokens().length;
        } else {
            position++;
        }
        int next = sampler.sample(logits);
        generated++;
        boolean end = !request.ignoreEos() && tokenizer.isEndOfGeneration(next);
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
            finish(end || stopped ? FinishReason.STOP : FinishReason.LENGTH, nowNanos);
            return true;
        }
        nextToken = next;
        previous = next;
        return false;
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
            listener.onFailure(error);
        }
    }
}
