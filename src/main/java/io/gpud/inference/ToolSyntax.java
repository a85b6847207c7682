package io.gpud.inference;

import io.gpud.core.Ids;

/**
 * How a model family writes a tool call in its reply, as its chat template shows the model
 * (the template renders earlier calls in the same syntax, and its tool section asks for it).
 *
 * <p>Control tokens such as Mistral's {@code [TOOL_CALLS]} and Llama's {@code <|python_tag|>}
 * give no text when gpud decodes a reply (see {@link Tokenizer#tokenBytes}), so where a
 * family opens its calls with one, a call is also recognised without it at the start of
 * the answer: {@link #bareOpener}.
 */
enum ToolSyntax {
    /** The template shows no tool-call syntax: a reply is all content. */
    NONE(null, null, '\0', "arguments", "", ""),
    /**
     * Hermes, as Qwen 2.5 and Qwen 3 use it: each call is
     * {@code <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>}, anywhere in the
     * reply, as many as the model makes.
     */
    HERMES("<tool_call>", "</tool_call>", '\0', "arguments", "<tool_call>\n", "\n</tool_call>"),
    /**
     * Llama 3.1, 3.2 and 3.3 with JSON tools: the whole answer is
     * {@code {"name": "f", "parameters": {...}}}, possibly after {@code <|python_tag|>};
     * several calls are separated by {@code ;}.
     */
    LLAMA_JSON("<|python_tag|>", null, '{', "parameters", "", ""),
    /**
     * Mistral: {@code [TOOL_CALLS][{"name": "f", "arguments": {...}}, ...]}, or the newer
     * {@code [TOOL_CALLS]f[ARGS]{...}} per call. Call ids are nine letters and digits,
     * the only ids Mistral's templates accept when a conversation shows the call again.
     */
    MISTRAL("[TOOL_CALLS]", null, '[', "arguments", "[TOOL_CALLS][", "]");

    /** The text that opens a call anywhere in the answer, or null. */
    final String marker;
    /** The text that closes a call opened by {@link #marker}, or null where the call is one JSON value. */
    final String closer;
    /** The character a call may begin with, without the marker, at the start of the answer, or {@code \0}. */
    final char bareOpener;
    /** The key of a call's arguments in this syntax (a parser takes either key). */
    final String argumentsKey;
    /** The text before a forced call's JSON document. */
    final String forcedPrefix;
    /** The text after a forced call's JSON document. */
    final String forcedSuffix;

    ToolSyntax(String marker, String closer, char bareOpener, String argumentsKey, String forcedPrefix,
               String forcedSuffix) {
        this.marker = marker;
        this.closer = closer;
        this.bareOpener = bareOpener;
        this.argumentsKey = argumentsKey;
        this.forcedPrefix = forcedPrefix;
        this.forcedSuffix = forcedSuffix;
    }

    /**
     * The syntax a chat template's source shows: {@code <tool_call>} blocks (Hermes),
     * {@code [TOOL_CALLS]} (Mistral), a Llama 3 header template that asks for
     * {@code "parameters"} (Llama JSON tools), else none.
     */
    static ToolSyntax of(String templateSource) {
        if (templateSource.contains("<tool_call>")) {
            return HERMES;
        }
        if (templateSource.contains("[TOOL_CALLS]")) {
            return MISTRAL;
        }
        if (templateSource.contains("<|start_header_id|>") && templateSource.contains("\"parameters\"")) {
            return LLAMA_JSON;
        }
        return NONE;
    }

    /** A fresh id for a call parsed from a reply. */
    String newCallId() {
        return this == MISTRAL ? Ids.random("", 9) : Ids.random("call_", 24);
    }
}
