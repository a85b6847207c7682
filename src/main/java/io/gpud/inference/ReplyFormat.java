package io.gpud.inference;

import java.util.List;
import java.util.Objects;

/**
 * How a model family writes reasoning and tool calls in its reply, read from its chat
 * template's source: the template shows the model the syntax it was trained on, both in its
 * tool section and in how it renders earlier calls.
 *
 * <ul>
 *   <li>Tool calls ({@link ToolSyntax}): Hermes {@code <tool_call>} blocks (Qwen 2.5, Qwen 3),
 *       Llama 3.1–3.3 JSON ({@code {"name": ..., "parameters": {...}}} as the whole answer),
 *       Mistral {@code [TOOL_CALLS][...]}; a template showing none of them supports no tools.
 *   <li>Reasoning: a template that mentions {@code <think>} (Qwen 3, DeepSeek-R1 distills)
 *       has the reply open with {@code <think>...</think>}, or, where the prompt itself ends
 *       with {@code <think>}, the reply starts inside that section. The reasoning is returned
 *       trimmed, and the answer after it without its leading whitespace.
 * </ul>
 *
 * <p>A parser ({@link ReplyScanner}) returns text as soon as it cannot be part of a tag or a
 * call, returns a call that does not parse as content (never drops it), passes on calls of
 * functions the request did not offer (as OpenAI and vLLM do), and gives each call a fresh id:
 * {@code call_} and 24 letters and digits, or, for Mistral, whose templates refuse any other
 * id when the conversation is sent back, nine letters and digits.
 */
public final class ReplyFormat {
    private final ToolSyntax syntax;
    private final boolean thinking;

    private ReplyFormat(ToolSyntax syntax, boolean thinking) {
        this.syntax = syntax;
        this.thinking = thinking;
    }

    /** The format of the model whose chat template is {@code template}. */
    public static ReplyFormat of(ChatTemplate template) {
        String source = template.source();
        return new ReplyFormat(ToolSyntax.of(source), source.contains(ReplyScanner.THINK_OPEN));
    }

    /** Whether the model's template shows tools and its replies can be parsed for tool calls. */
    public boolean supportsTools() {
        return syntax != ToolSyntax.NONE;
    }

    /** Whether the model writes its reasoning in a section the parser splits off. */
    public boolean supportsThinking() {
        return thinking;
    }

    /**
     * A parser for one reply.
     *
     * @param toolsOffered whether the request offered tools (else tool-call syntax is content)
     * @param promptText   the rendered prompt, whose end says whether the reply starts inside a
     *                     reasoning section (DeepSeek-R1 distills open {@code <think>} in the prompt)
     */
    public ReplyParser parser(boolean toolsOffered, String promptText) {
        Objects.requireNonNull(promptText, "promptText");
        boolean insideThinking = thinking && promptText.stripTrailing().endsWith(ReplyScanner.THINK_OPEN);
        return new ReplyScanner(toolsOffered ? syntax : ToolSyntax.NONE, thinking, insideThinking);
    }

    /**
     * The text and JSON Schema that force one call of one of {@code tools} (all of them when
     * {@code function} is null, else the one named), in this family's syntax. The schema is
     * {@code {"name": <const>, "arguments" | "parameters": <the tool's parameters>}} (Llama
     * names the arguments {@code parameters}), {@code anyOf} such objects when several tools
     * may be called; a tool without parameters takes an empty object.
     *
     * @param tools the request's tool definitions, as plain Java values ({@code {type: function, function: {...}}})
     * @throws IllegalArgumentException when the model supports no tools, a tool is malformed,
     *                                  there are none, or {@code function} names none of them
     */
    public ForcedToolCall forcedToolCall(List<Object> tools, String function) {
        if (!supportsTools()) {
            throw new IllegalArgumentException("the model's chat template shows no tool-call syntax");
        }
        return new ForcedToolCall(syntax.forcedPrefix, ForcedCallSchema.of(tools, function, syntax.argumentsKey),
                syntax.forcedSuffix);
    }

    @Override
    public String toString() {
        return "ReplyFormat[tools=" + syntax + ", thinking=" + thinking + "]";
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
         * @param id        a fresh call id ({@code call_...}; for Mistral nine letters and digits)
         * @param name      the function's name, offered or not
         * @param arguments its arguments as compact JSON text of an object
         */
        record ToolCall(String id, String name, String arguments) implements ReplyEvent {
        }
    }
}
