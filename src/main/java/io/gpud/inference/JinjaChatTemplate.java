package io.gpud.inference;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model's own chat template, in Jinja as Hugging Face writes them (GGUF
 * {@code tokenizer.chat_template}, {@code tokenizer_config.json} {@code chat_template}),
 * rendered with the variables those templates expect: {@code messages} (maps with
 * {@code role} and {@code content}), {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token}, and the function {@code raise_exception(message)}. Blocks are
 * trimmed as Hugging Face does ({@code trim_blocks}, {@code lstrip_blocks}).
 *
 * <p>{@link #orPlain} checks a template once on a sample conversation and falls back to the
 * {@link PlainChatTemplate} when it does not render, so a model whose template uses
 * something this renderer lacks still serves chat.
 */
final class JinjaChatTemplate implements ChatTemplate {
    private static final Logger LOG = LoggerFactory.getLogger(JinjaChatTemplate.class);
    private static final int MAX_TEMPLATE_CHARS = 1 << 20;

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    JinjaChatTemplate(String source, String bosToken, String eosToken) {
        if (source.length() > MAX_TEMPLATE_CHARS) {
            throw new InferenceException("the chat template has " + source.length() + " characters, more than "
                    + MAX_TEMPLATE_CHARS);
        }
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxOutputSize(MAX_TEMPLATE_CHARS * 16L)
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjaChatTemplate.class, "raiseException", String.class));
    }

    /** The model's template when it renders a sample conversation, else the plain one. */
    static ChatTemplate orPlain(String source, String bosToken, String eosToken, String modelName) {
        if (source == null || source.isBlank()) {
            return new PlainChatTemplate();
        }
        try {
            var template = new JinjaChatTemplate(source, bosToken, eosToken);
            template.render(List.of(new Message("system", "s"), new Message("user", "u"),
                    new Message("assistant", "a"), new Message("user", "u")), true);
            return template;
        } catch (RuntimeException e) {
            LOG.warn("model {}: its chat template does not render ({}); using the plain template", modelName,
                    e.getMessage());
            return new PlainChatTemplate();
        }
    }

    /** Called by templates to refuse a conversation (for example roles out of order). */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("the chat template refused the conversation: " + message);
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when the template refuses the conversation
     */
    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        var list = new ArrayList<Map<String, Object>>(messages.size());
        for (Message message : messages) {
            var map = new LinkedHashMap<String, Object>();
            map.put("role", message.role());
            map.put("content", message.content());
            list.add(map);
        }
        var context = new HashMap<String, Object>();
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(source, context);
        for (TemplateError error : result.getErrors()) {
            for (Throwable cause = error.getException(); cause != null; cause = cause.getCause()) {
                if (cause instanceof IllegalArgumentException refused) {
                    throw refused;
                }
            }
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("the chat template failed: " + error.getMessage());
            }
        }
        return result.getOutput();
    }

    @Override
    public boolean includesBos() {
        return !bosToken.isEmpty() && source.contains("bos_token");
    }
}
