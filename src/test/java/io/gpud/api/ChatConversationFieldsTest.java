package io.gpud.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.inference.ChatTemplate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A chat request's tools, tool calls, tool results and template options reach the chat template. */
class ChatConversationFieldsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Fields.MessageDialect TEXT = new Fields.MessageDialect(
            (m, param) -> Fields.Content.of(Fields.string(m, "content").orElse("")), "name", "reasoning_content");

    @Test
    void toolsToolCallsToolResultsAndTemplateOptionsArePassedOn() throws Exception {
        var body = (ObjectNode) JSON.readTree("""
                {"model": "m",
                 "messages": [
                   {"role": "user", "content": "Weather in Paris?"},
                   {"role": "assistant", "content": null, "reasoning_content": "need the tool",
                    "tool_calls": [{"id": "call_1", "type": "function",
                                    "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 2}"}},
                                   {"id": "call_2", "type": "function",
                                    "function": {"name": "echo", "arguments": "not json"}}]},
                   {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}],
                 "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
                 "chat_template_kwargs": {"enable_thinking": false}}""");
        ChatTemplate.Conversation c = Fields.conversation(body, TEXT);

        assertEquals(3, c.messages().size());
        ChatTemplate.Message assistant = c.messages().get(1);
        assertEquals("need the tool", assistant.reasoningContent());
        assertEquals(List.of(new ChatTemplate.ToolCall("call_1", "get_weather", Map.of("city", "Paris", "days", 2)),
                new ChatTemplate.ToolCall("call_2", "echo", "not json")), assistant.toolCalls());
        ChatTemplate.Message tool = c.messages().get(2);
        assertEquals("tool", tool.role());
        assertEquals("call_1", tool.toolCallId());
        assertEquals("sunny", tool.content());
        assertEquals(List.of(Map.of("type", "function",
                "function", Map.of("name", "get_weather", "parameters", Map.of("type", "object")))), c.tools());
        assertEquals(Map.of("enable_thinking", false), c.options());
        assertTrue(c.hasToolMessages());
    }

    @Test
    void malformedToolFieldsAreClearErrors() throws Exception {
        var notArray = (ObjectNode) JSON.readTree("""
                {"messages": [{"role": "user", "content": "x"}], "tools": {"type": "function"}}""");
        assertEquals("'tools' must be an array, got object",
                assertThrows(ApiException.class, () -> Fields.conversation(notArray, TEXT)).getMessage());
        var noName = (ObjectNode) JSON.readTree("""
                {"messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": {}}]}]}""");
        assertEquals("'messages[0].tool_calls[0].function.name' is required",
                assertThrows(ApiException.class, () -> Fields.conversation(noName, TEXT)).getMessage());
        var badRole = (ObjectNode) JSON.readTree("""
                {"messages": [{"role": "ipython", "content": "x"}]}""");
        assertTrue(assertThrows(ApiException.class, () -> Fields.conversation(badRole, TEXT)).getMessage()
                .contains("must be system, developer, user, assistant or tool"));
    }
}
