package io.gpud.inference;

/**
 * The chat template of models that bring none: one line per message,
 * {@code "<role>: <content>\n"}, then {@code "assistant: "} when a generation prompt is
 * asked for. For example {@code [user: "Hi"]} renders as {@code "user: Hi\nassistant: "}.
 * Models trained without a chat format continue such a transcript reasonably; the BOS token
 * is added by the tokenizer, not by the template. Such a model was never taught a tool-call
 * format, so tools, tool calls and tool results ({@code role: tool}) are refused rather than
 * dropped or passed off as a turn of a speaker named "tool".
 */
final class PlainChatTemplate implements ChatTemplate {

    @Override
    public String render(Conversation conversation, boolean addGenerationPrompt) {
        if (!conversation.tools().isEmpty()) {
            throw new IllegalArgumentException("the model has no chat template, so it cannot be offered tools");
        }
        if (conversation.hasToolMessages()) {
            throw new IllegalArgumentException(
                    "the model has no chat template, so it cannot be shown tool calls or tool results");
        }
        var out = new StringBuilder();
        for (Message message : conversation.messages()) {
            out.append(message.role()).append(": ").append(message.content()).append('\n');
        }
        if (addGenerationPrompt) {
            out.append("assistant: ");
        }
        return out.toString();
    }
}
