package io.gpud.inference;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model's own chat template, in Jinja as Hugging Face writes them (GGUF
 * {@code tokenizer.chat_template}, {@code tokenizer_config.json} {@code chat_template}),
 * rendered as {@code @huggingface/transformers}' {@code apply_chat_template} renders it with
 * {@code @huggingface/jinja}: the variables are {@code messages}, {@code tools} (none when
 * there are none), {@code documents} (none), {@code add_generation_prompt}, {@code bos_token}
 * and {@code eos_token} (where the model has them), the conversation's template options
 * (e.g. {@code enable_thinking}), and the functions {@code raise_exception(message)} and
 * {@code strftime_now(format)}. {@link JinjaParser} and {@link JinjaRuntime} carry the syntax
 * and the value semantics of that renderer, so the prompt is the one the model's own tooling
 * builds, to the byte ({@code HuggingFaceChatTemplatesTest} checks this on the real templates
 * of eight model families).
 *
 * <p>A message becomes {@code {role, content}} plus, where present, {@code tool_calls}
 * ({@code [{id, type: "function", function: {name, arguments}}]}), {@code tool_call_id},
 * {@code reasoning_content} and {@code name}; content given as parts stays a list of
 * {@code {type: "text", text}}. A template that never mentions {@code tools} refuses a
 * conversation that offers tools, and one that never mentions {@code tool_calls} refuses a
 * conversation with tool calls, rather than silently leaving them out of the prompt.
 *
 * <p>{@link #orPlain} checks a template once on a sample conversation and falls back to the
 * {@link PlainChatTemplate} when it does not render, so a model whose template uses
 * something this renderer lacks still serves chat.
 */
final class JinjaChatTemplate implements ChatTemplate {
    private static final Logger LOG = LoggerFactory.getLogger(JinjaChatTemplate.class);
    private static final int MAX_TEMPLATE_CHARS = 1 << 20;
    /** The longest prompt a template may write: far beyond any model's context. */
    private static final long MAX_OUTPUT_CHARS = MAX_TEMPLATE_CHARS * 16L;
    /**
     * Steps one render may take (see {@link JinjaBudget}): room for the longest output four
     * times over, a few seconds of one core and some hundred megabytes allocated at worst.
     */
    private static final long MAX_STEPS = 4 * MAX_OUTPUT_CHARS;
    /** The longest refusal message a template's {@code raise_exception} may give. */
    private static final int MAX_REFUSAL_CHARS = 4096;
    /** Variables the template gets from this class; a conversation's options may not replace them. */
    private static final java.util.Set<String> OWN_VARIABLES = java.util.Set.of("messages", "tools", "documents",
            "add_generation_prompt", "bos_token", "eos_token", "raise_exception", "strftime_now", "namespace", "range",
            "true", "false", "none", "True", "False", "None");

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final List<JinjaParser.Node> parsed;

    /**
     * @throws IllegalArgumentException when the template is not valid Jinja
     */
    JinjaChatTemplate(String source, String bosToken, String eosToken) {
        if (source.length() > MAX_TEMPLATE_CHARS) {
            throw new InferenceException("the chat template has " + source.length() + " characters, more than "
                    + MAX_TEMPLATE_CHARS);
        }
        this.source = source;
        this.bosToken = bosToken == null || bosToken.isEmpty() ? null : bosToken;
        this.eosToken = eosToken == null || eosToken.isEmpty() ? null : eosToken;
        this.parsed = JinjaParser.parse(source);
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

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when the template refuses the conversation or fails on it
     */
    @Override
    public String render(Conversation conversation, boolean addGenerationPrompt) {
        if (!conversation.tools().isEmpty() && !source.contains("tools")) {
            throw new IllegalArgumentException("the model's chat template takes no tools");
        }
        if (conversation.messages().stream().anyMatch(m -> !m.toolCalls().isEmpty()) && !source.contains("tool_calls")) {
            throw new IllegalArgumentException("the model's chat template cannot show tool calls");
        }
        var globals = new LinkedHashMap<String, Object>();
        globals.put("messages", messages(conversation.messages()));
        globals.put("add_generation_prompt", addGenerationPrompt);
        globals.put("tools", conversation.tools().isEmpty() ? null : value(conversation.tools(), 0));
        globals.put("documents", null);
        if (bosToken != null) {
            globals.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            globals.put("eos_token", eosToken);
        }
        conversation.options().forEach((name, v) -> {
            if (OWN_VARIABLES.contains(name)) {
                throw new IllegalArgumentException("the chat template option '" + name
                        + "' would replace the template's own variable of that name");
            }
            globals.put(name, value(v, 0));
        });
        globals.put("raise_exception", (JinjaRuntime.Function) (args, kwargs) -> {
            throw new JinjaRuntime.Refusal(args.isEmpty() ? "" : JinjaRuntime.print(args.getFirst(), MAX_REFUSAL_CHARS));
        });
        globals.put("strftime_now", (JinjaRuntime.Function) (args, kwargs) -> strftime(LocalDateTime.now(),
                args.isEmpty() ? "" : JinjaRuntime.print(args.getFirst(), MAX_REFUSAL_CHARS)));
        try {
            return new JinjaRuntime(MAX_OUTPUT_CHARS, MAX_STEPS).render(parsed, globals);
        } catch (JinjaRuntime.Refusal e) {
            throw new IllegalArgumentException("the chat template refused the conversation: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the chat template failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // a builtin given a value of the wrong kind (none, a list for a string, ...)
            throw new IllegalArgumentException("the chat template failed: " + e, e);
        }
    }

    private static List<Object> messages(List<Message> messages) {
        var list = new ArrayList<Object>(messages.size());
        for (Message message : messages) {
            var map = new LinkedHashMap<String, Object>();
            map.put("role", message.role());
            if (message.contentParts().isEmpty()) {
                map.put("content", message.content());
            } else {
                var parts = new ArrayList<Object>();
                for (String text : message.contentParts()) {
                    var part = new LinkedHashMap<String, Object>();
                    part.put("type", "text");
                    part.put("text", text);
                    parts.add(part);
                }
                map.put("content", parts);
            }
            if (!message.toolCalls().isEmpty()) {
                var calls = new ArrayList<Object>();
                for (ToolCall call : message.toolCalls()) {
                    var function = new LinkedHashMap<String, Object>();
                    function.put("name", call.name());
                    function.put("arguments", value(call.arguments(), 0));
                    var c = new LinkedHashMap<String, Object>();
                    if (call.id() != null) {
                        c.put("id", call.id());
                    }
                    c.put("type", "function");
                    c.put("function", function);
                    calls.add(c);
                }
                map.put("tool_calls", calls);
            }
            if (message.toolCallId() != null) {
                map.put("tool_call_id", message.toolCallId());
            }
            if (message.reasoningContent() != null) {
                map.put("reasoning_content", message.reasoningContent());
            }
            if (message.name() != null) {
                map.put("name", message.name());
            }
            list.add(map);
        }
        return list;
    }

    /**
     * A JSON-shaped Java value as a template value: integers as Long (beyond 64 bits, as
     * Double), decimals as Double, fresh containers, nested at most
     * {@link JinjaBudget#MAX_VALUE_DEPTH} deep.
     */
    private static Object value(Object v, int depth) {
        JinjaBudget.checkValueDepth(depth);
        return switch (v) {
            case null -> null;
            case String s -> s;
            case Boolean b -> b;
            case Integer i -> (long) i;
            case Long l -> l;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case BigInteger b -> b.bitLength() < 64 ? (Object) b.longValue() : (Object) b.doubleValue();
            case Float f -> (double) f;
            case Double d -> d;
            case BigDecimal d -> d.doubleValue();
            case Map<?, ?> map -> {
                var copy = new LinkedHashMap<String, Object>();
                map.forEach((k, x) -> copy.put(String.valueOf(k), value(x, depth + 1)));
                yield copy;
            }
            case List<?> list -> {
                var copy = new ArrayList<Object>(list.size());
                list.forEach(x -> copy.add(value(x, depth + 1)));
                yield copy;
            }
            default -> throw new IllegalArgumentException("a " + v.getClass().getSimpleName()
                    + " cannot be passed to a chat template");
        };
    }

    /**
     * {@code time} in {@code format}, as {@code @huggingface/jinja}'s {@code strftime_now}
     * writes it: {@code %Y %m %d %b %B %H %M %%} (month names in English); other directives stay as written.
     */
    static String strftime(LocalDateTime time, String format) {
        var out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            String value = c != '%' || i + 1 == format.length() ? null : switch (format.charAt(i + 1)) {
                case 'Y' -> Integer.toString(time.getYear());
                case 'm' -> twoDigits(time.getMonthValue());
                case 'd' -> twoDigits(time.getDayOfMonth());
                case 'b' -> time.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'B' -> time.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'H' -> twoDigits(time.getHour());
                case 'M' -> twoDigits(time.getMinute());
                case '%' -> "%";
                default -> null;
            };
            if (value == null) {
                out.append(c);
            } else {
                out.append(value);
                i++;
            }
        }
        return out.toString();
    }

    private static String twoDigits(int value) {
        return value < 10 ? "0" + value : Integer.toString(value);
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public boolean includesBos() {
        return bosToken != null && source.contains("bos_token");
    }
}
