package io.gpud.inference;

import java.util.List;

/**
 * The chat template of models that bring none: one line per message,
 * {@code "<role>: <content>\n"}, then {@code "assistant: "} when a generation prompt is
 * asked for. For example {@code [user: "Hi"]} renders as {@code "user: Hi\nassistant: "}.
 * Models trained without a chat format continue such a transcript reasonably; the BOS token
 * is added by the tokenizer, not by the template.
 */
final class PlainChatTemplate implements ChatTemplate {

    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        var out = new StringBuilder();
        for (Message message : messages) {
            out.append(message.role()).append(": ").append(message.content()).append('\n');
        }
        if (addGenerationPrompt) {
            out.append("assistant: ");
        }
        return out.toString();
    }
}
