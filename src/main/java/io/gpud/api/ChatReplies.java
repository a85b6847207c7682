package io.gpud.api;

import io.gpud.inference.Completion;
import io.gpud.inference.ReplyFormat;
import io.gpud.inference.ReplyFormat.ReplyEvent;
import io.gpud.inference.TokenLogprobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A chat generation's reply as an OpenAI client sees it: the model's text split by its
 * family's {@link ReplyFormat} into answer text, reasoning and tool calls as it arrives.
 * With {@code parallel_tool_calls: false} only the reply's first tool call is kept; the
 * others are dropped (a forced call is one call already).
 */
final class ChatReplies {

    private ChatReplies() {
    }

    /** Receives a reply piece by piece on the request's thread; an IOException means the client is gone. */
    interface Sink {
        /**
         * What became final with one batch of tokens: the events in order (tool calls already
         * filtered), and the log-probabilities of the batch's tokens (empty unless asked).
         */
        void piece(List<ReplyEvent> events, List<TokenLogprobs> logprobs) throws IOException;
    }

    /**
     * How a reply ended.
     *
     * @param completion the generation's counts and finish
     * @param toolCalls  tool calls the reply carried (after filtering)
     */
    record Ended(Completion completion, int toolCalls) {
        /** OpenAI's {@code finish_reason}: {@code tool_calls} when the reply called a tool. */
        String finishReason() {
            return toolCalls > 0 ? "tool_calls" : Generations.finishReason(completion);
        }
    }

    /**
     * Drives one admitted chat generation to its end through the model's reply parser;
     * null when the client went away (the generation is cancelled).
     */
    static Ended drive(Generations generations, Generations.Started started, OpenAiRequests.Tools tools, Sink sink) {
        ReplyFormat.ReplyParser parser = ReplyFormat.of(started.engine().chatTemplate())
                .parser(tools.offered(), started.promptText());
        var calls = new int[1];
        Completion c = generations.drive(started, (text, logprobs) ->
                sink.piece(filter(parser.push(text), tools.parallel(), calls), logprobs));
        if (c == null) {
            return null;
        }
        List<ReplyEvent> rest = filter(parser.finish(), tools.parallel(), calls);
        if (!rest.isEmpty()) {
            try {
                sink.piece(rest, List.of());
            } catch (IOException gone) {
                return null;
            }
        }
        return new Ended(c, calls[0]);
    }

    /** Drops empty text, and every tool call after the first when {@code parallel} is false. */
    private static List<ReplyEvent> filter(List<ReplyEvent> events, boolean parallel, int[] calls) {
        var kept = new ArrayList<ReplyEvent>(events.size());
        for (ReplyEvent e : events) {
            switch (e) {
                case ReplyEvent.Content t when t.text().isEmpty() -> {
                }
                case ReplyEvent.Thinking t when t.text().isEmpty() -> {
                }
                case ReplyEvent.ToolCall call -> {
                    if (parallel || calls[0] == 0) {
                        calls[0]++;
                        kept.add(call);
                    }
                }
                default -> kept.add(e);
            }
        }
        return kept;
    }

    /** A whole reply, gathered from its pieces. */
    static final class Gathered implements Sink {
        final StringBuilder content = new StringBuilder();
        final StringBuilder reasoning = new StringBuilder();
        final List<ReplyEvent.ToolCall> toolCalls = new ArrayList<>();
        final List<TokenLogprobs> logprobs = new ArrayList<>();

        @Override
        public void piece(List<ReplyEvent> events, List<TokenLogprobs> tokens) {
            for (ReplyEvent e : events) {
                switch (e) {
                    case ReplyEvent.Content t -> content.append(t.text());
                    case ReplyEvent.Thinking t -> reasoning.append(t.text());
                    case ReplyEvent.ToolCall call -> toolCalls.add(call);
                }
            }
            logprobs.addAll(tokens);
        }
    }
}
