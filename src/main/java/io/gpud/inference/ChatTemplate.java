package io.gpud.inference;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Turns a conversation into the prompt text a model was trained on.
 *
 * <p>Structured values a client sends as JSON (tool definitions, tool-call arguments,
 * template options) travel as plain Java values: {@code Map<String, Object>} with keys in
 * the order sent, {@code List<Object>}, {@code String}, {@code Long}, {@code Double},
 * {@code Boolean} and {@code null}.
 */
public interface ChatTemplate {

    /**
     * One chat message.
     *
     * @param role             {@code system}, {@code user}, {@code assistant} or {@code tool}
     * @param content          the text (the parts joined, where it came as parts)
     * @param contentParts     the text parts as the client sent them ({@code [{type: text, text}]}),
     *                         empty where the content came as one string
     * @param toolCalls        the calls an assistant message makes, in order
     * @param toolCallId       for a tool message, the id of the call it answers, or null
     * @param reasoningContent the reasoning an assistant message carries beside its content, or null
     * @param name             the name of the message's author or, for a tool message, of the tool that
     *                         answered, or null
     */
    record Message(String role, String content, List<String> contentParts, List<ToolCall> toolCalls,
                   String toolCallId, String reasoningContent, String name) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
            contentParts = List.copyOf(contentParts);
            toolCalls = List.copyOf(toolCalls);
        }

        /** A message with no name. */
        public Message(String role, String content, List<String> contentParts, List<ToolCall> toolCalls,
                       String toolCallId, String reasoningContent) {
            this(role, content, contentParts, toolCalls, toolCallId, reasoningContent, null);
        }

        /** A message of plain text. */
        public Message(String role, String content) {
            this(role, content, List.of(), List.of(), null, null, null);
        }
    }

    /**
     * A call an assistant message makes.
     *
     * @param id        the call's id, or null
     * @param name      the function's name
     * @param arguments a JSON object as a map, or the arguments' JSON text as sent where it is not an object
     */
    record ToolCall(String id, String name, Object arguments) {
        public ToolCall {
            Objects.requireNonNull(name, "name");
        }
    }

    /**
     * What a template renders.
     *
     * @param messages the conversation, oldest first
     * @param tools    the tool definitions offered to the model ({@code {type: function, function: {...}}}), or
     *                 empty
     * @param options  further template variables by name, such as Qwen 3's {@code enable_thinking}
     */
    record Conversation(List<Message> messages, List<Object> tools, Map<String, Object> options) {
        public Conversation {
            messages = List.copyOf(messages);
            tools = List.copyOf(tools);
            options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
        }

        /** Messages alone, with no tools and no options. */
        public static Conversation of(List<Message> messages) {
            return new Conversation(messages, List.of(), Map.of());
        }

        /** Whether some message is a tool call or a tool result. */
        public boolean hasToolMessages() {
            return messages.stream().anyMatch(m -> !m.toolCalls().isEmpty() || m.role().equals("tool"));
        }
    }

    /**
     * Renders the conversation; when {@code addGenerationPrompt}, ends with the opening of
     * the assistant's turn so the model continues as the assistant.
     *
     * @throws IllegalArgumentException when the template refuses the conversation, or the
     *                                  conversation carries tools or tool calls the template cannot show the model
     */
    String render(Conversation conversation, boolean addGenerationPrompt);

    /** {@link #render(Conversation, boolean)} of messages alone. */
    default String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(Conversation.of(messages), addGenerationPrompt);
    }

    /** Whether the rendered text already starts with the BOS token's text. */
    default boolean includesBos() {
        return false;
    }

    /**
     * The template's own source text (Jinja for a model's template), from which
     * {@link ReplyFormat#of} reads how the model writes tool calls and reasoning; empty for a
     * template built into gpud, which shows the model no tool-call or reasoning syntax.
     */
    default String source() {
        return "";
    }
}
