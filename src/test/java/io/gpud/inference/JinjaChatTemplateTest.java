package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.inference.ChatTemplate.Message;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Chat templates as models ship them, rendered with the variables they expect. */
class JinjaChatTemplateTest {
    private static final String CHATML = """
            {% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}""";
    private static final String LLAMA3 = """
            {% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}""";
    private static final String ALTERNATING = """
            {% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{{ message['content'] }}{% endfor %}""";

    @Test
    void chatMlRendersWithGenerationPrompt() {
        ChatTemplate template = JinjaChatTemplate.orPlain(CHATML, null, "<|im_end|>", "m");
        assertInstanceOf(JinjaChatTemplate.class, template);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                template.render(List.of(new Message("system", "Be brief."), new Message("user", "Hi")), true));
        assertFalse(template.includesBos());
    }

    @Test
    void llama3RendersBosHeadersAndTrimmedContent() {
        ChatTemplate template = JinjaChatTemplate.orPlain(LLAMA3, "<|begin_of_text|>", "<|eot_id|>", "m");
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                template.render(List.of(new Message("user", "  Hi \n")), true));
        assertTrue(template.includesBos());
    }

    @Test
    void raiseExceptionRefusesTheConversation() {
        var template = new JinjaChatTemplate(ALTERNATING, "", "");
        assertEquals("ab", template.render(List.of(new Message("user", "a"), new Message("assistant", "b")), false));
        var e = assertThrows(IllegalArgumentException.class,
                () -> template.render(List.of(new Message("assistant", "a")), false));
        assertTrue(e.getMessage().contains("must alternate"), e.getMessage());
    }

    @Test
    void missingOrBrokenTemplatesFallBackToPlain() {
        assertInstanceOf(PlainChatTemplate.class, JinjaChatTemplate.orPlain(null, null, null, "m"));
        assertInstanceOf(PlainChatTemplate.class, JinjaChatTemplate.orPlain("{% for %}", null, null, "m"));
    }

    @Test
    void toolsAndToolCallsAreRefusedWhereTheTemplateCannotShowThem() {
        var tools = List.<Object>of(java.util.Map.of("type", "function", "function", java.util.Map.of("name", "f")));
        var offered = new ChatTemplate.Conversation(List.of(new Message("user", "hi")), tools, java.util.Map.of());
        var call = new Message("assistant", "", List.of(), List.of(new ChatTemplate.ToolCall("c1", "f", java.util.Map.of())),
                null, null);
        var called = ChatTemplate.Conversation.of(List.of(new Message("user", "hi"), call));
        ChatTemplate chatMl = JinjaChatTemplate.orPlain(CHATML, null, "<|im_end|>", "m");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> chatMl.render(offered, true)).getMessage()
                .contains("takes no tools"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> chatMl.render(called, true)).getMessage()
                .contains("cannot show tool calls"));
        ChatTemplate plain = JinjaChatTemplate.orPlain(null, null, null, "m");
        assertThrows(IllegalArgumentException.class, () -> plain.render(offered, true));
        assertThrows(IllegalArgumentException.class, () -> plain.render(called, true));
    }

    @Test
    void userTextIsNeverInterpretedAsTemplate() {
        ChatTemplate template = JinjaChatTemplate.orPlain(CHATML, null, "<|im_end|>", "m");
        assertEquals("<|im_start|>user\n{{ 7 * 7 }} {% if true %}x{% endif %}<|im_end|>\n",
                template.render(List.of(new Message("user", "{{ 7 * 7 }} {% if true %}x{% endif %}")), false));
    }
}
