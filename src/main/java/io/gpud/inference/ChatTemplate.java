package io.gpud.inference;

import java.util.List;

/** Turns chat messages into the prompt text a model was trained on. */
public interface ChatTemplate {

    /** One chat message; {@code role} is {@code system}, {@code user} or {@code assistant}. */
    record Message(String role, String content) {
    }

    /**
     * Renders the conversation; when {@code addGenerationPrompt}, ends with the opening of
     * the assistant's turn so the model continues as the assistant.
     */
    String render(List<Message> messages, boolean addGenerationPrompt);

    /** Whether the rendered text already starts with the BOS token's text. */
    default boolean includesBos() {
        return false;
    }
}
