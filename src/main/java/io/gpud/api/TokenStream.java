package io.gpud.api;

import io.gpud.inference.Completion;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.TokenLogprobs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Carries one generation's events from the engine's threads to the request's virtual
 * thread, which alone writes to the socket. The engine side only enqueues (never blocks);
 * the request side takes whatever has arrived as one batch, so a slow client gets fewer,
 * larger writes instead of falling behind token by token.
 *
 * <p>The queue needs no capacity limit of its own: an engine sends at most
 * {@code maxTokens} tokens and one final event per generation, and {@code maxTokens} is
 * already clamped to the model's context.
 */
final class TokenStream implements GenerationListener {

    private sealed interface Event {
    }

    /** A token's final text, and its log-probabilities when the request asked for them (else null). */
    private record Token(String text, TokenLogprobs logprobs) implements Event {
    }

    private record Done(Completion completion) implements Event {
    }

    private record Failed(RuntimeException error) implements Event {
    }

    /**
     * Tokens that arrived together, and the end of the generation if it came with them.
     *
     * @param text       their text, possibly empty (incomplete UTF-8, a possible stop prefix)
     * @param tokens     how many tokens
     * @param logprobs   the log-probabilities of those tokens that carried them, in order
     *                   (empty unless the request asked for them)
     * @param completion set when the generation ended normally or was cancelled
     * @param failure    set when the generation failed
     */
    record Batch(String text, int tokens, List<TokenLogprobs> logprobs, Completion completion,
                 RuntimeException failure) {
        boolean last() {
            return completion != null || failure != null;
        }
    }

    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();

    @Override
    public void onToken(int token, String text) {
        events.add(new Token(text, null));
    }

    @Override
    public void onToken(int token, String text, TokenLogprobs logprobs) {
        events.add(new Token(text, logprobs));
    }

    @Override
    public void onDone(Completion completion) {
        events.add(new Done(completion));
    }

    @Override
    public void onFailure(RuntimeException error) {
        events.add(new Failed(error));
    }

    /** Waits for at least one event, then takes every event already queued. Single consumer. */
    Batch next() throws InterruptedException {
        var text = new StringBuilder();
        int tokens = 0;
        List<TokenLogprobs> logprobs = new ArrayList<>(0);
        Event e = events.take();
        while (true) {
            switch (e) {
                case Token t -> {
                    text.append(t.text());
                    tokens++;
                    if (t.logprobs() != null) {
                        logprobs.add(t.logprobs());
                    }
                }
                case Done d -> {
                    return new Batch(text.toString(), tokens, logprobs, d.completion(), null);
                }
                case Failed f -> {
                    return new Batch(text.toString(), tokens, logprobs, null, f.error());
                }
            }
            e = events.poll();
            if (e == null) {
                return new Batch(text.toString(), tokens, logprobs, null, null);
            }
        }
    }
}
