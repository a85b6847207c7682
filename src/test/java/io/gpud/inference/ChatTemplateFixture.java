package io.gpud.inference;

/** A model's Jinja chat template for tests outside this package (the class itself is package-private). */
public final class ChatTemplateFixture {
    private ChatTemplateFixture() {
    }

    /** The template as a model loader builds it, with no BOS or EOS token. */
    public static ChatTemplate jinja(String source) {
        return new JinjaChatTemplate(source, null, null);
    }

    /** The template models without one use. */
    public static ChatTemplate plain() {
        return new PlainChatTemplate();
    }
}
