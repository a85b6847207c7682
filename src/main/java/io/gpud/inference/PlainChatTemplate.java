package io.gpud.inference;

/**
 * The chat template of models that bring none: one line per message,
 * {@code "<role>: <content>\n"}, then {@code "assistant: "} when a generation prompt is
 * asked for. For example {@code [user: "Hi"]} renders as {@code "user: Hi\nassistant: "}.
 * Models trained without a chat format continue such a transcript reasonably; the BOS token
 * is added by the tokenizer, not by the template. Such a model was never taught a tool-call
 * format, so tools and tool calls are refused rather than dropped.
 */
final class PlainChatTemplate implements ChatTemplate {

    @Override
    public String render(Conversation conversation, boolean addGenerationPrompt) {
        if (!conversation.tools().isEmpty()) {
            throw new IllegalArgumentException("the model has no chat template, so it cannot be offered tools");
        }
        var out = new StringBuilder();
        for (Message message : conversation.messages()) {
            if (!message.toolCalls().isEmpty()) {
                throw new IllegalArgumentException("the model has no chat template, so it cannot be shown tool calls");
            }
            out.append(message.role()).append(": ").append(message.content()).append('\n');
        }
        if (addGenerationPrompt) {
            out.append("assistant: ");
        }
        return out.toString();
    }
}
