package io.gpud.inference;

import java.util.List;

/**
 * How a model family writes reasoning and tool calls in its reply, read from its chat
 * template. (Interface agreed; the parsers are being built.)
 */
public final class ReplyFormat {

    private ReplyFormat() {
    }

    /** The format of the model whose chat template is {@code template}. */
    public static ReplyFormat of(ChatTemplate template) {
        throw new UnsupportedOperationException("reply formats are not built yet");
    }

    /** Whether the model's template shows tools and its replies can be parsed for tool calls. */
    public boolean supportsTools() {
        throw new UnsupportedOperationException("reply formats are not built yet");
    }

    /** Whether the model writes its reasoning in a section the parser splits off. */
    public boolean supportsThinking() {
        throw new UnsupportedOperationException("reply formats are not built yet");
    }

    /**
     * A parser for one reply.
     *
     * @param toolsOffered whether the request offered tools (else tool-call syntax is content)
     * @param promptText   the rendered prompt, whose end says whether the reply starts inside a
     *                     reasoning section (DeepSeek-R1 distills open {@code <think>} in the prompt)
     */
    public ReplyParser parser(boolean toolsOffered, String promptText) {
        throw new UnsupportedOperationException("reply formats are not built yet");
    }

    /**
     * The text and JSON Schema that force one call of one of {@code tools} (all of them when
     * {@code function} is null, else the one named), in this family's syntax.
     *
     * @param tools the request's tool definitions, as plain Java values ({@code {type: function, function: {...}}})
     */
    public ForcedToolCall forcedToolCall(List<Object> tools, String function) {
        throw new UnsupportedOperationException("reply formats are not built yet");
    }

    /**
     * A forced tool call: {@code prefix}, then a JSON document valid against {@code schemaJson},
     * then {@code suffix}.
     */
    public record ForcedToolCall(String prefix, String schemaJson, String suffix) {
    }

    /** Splits one reply into events as its text arrives. */
    public interface ReplyParser {
        /** Events complete with this text; text that may still start a tool call or tag is held back. */
        List<ReplyEvent> push(String text);

        /** The events left at the end of the reply. */
        List<ReplyEvent> finish();
    }

    /** A piece of a parsed reply. */
    public sealed interface ReplyEvent {
        /** Visible answer text. */
        record Content(String text) implements ReplyEvent {
        }

        /** Reasoning text, without its tags. */
        record Thinking(String text) implements ReplyEvent {
        }

        /**
         * One whole tool call.
         *
         * @param id        a fresh call id ({@code call_...})
         * @param name      the function's name
         * @param arguments its arguments as JSON text (an object)
         */
        record ToolCall(String id, String name, String arguments) implements ReplyEvent {
        }
    }
}
