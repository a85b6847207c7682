package io.gpud.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.TokenConstraint;
import io.gpud.inference.Tokenizer;

/**
 * A JSON document a generation must produce, compiled against one tokenizer's vocabulary.
 * (Interface agreed; the compiler is being built.)
 */
public final class StructuredOutput {

    private StructuredOutput() {
    }

    /**
     * Compiles {@code schema} (a JSON Schema object; null for any JSON object, as
     * {@code response_format: json_object} and Ollama's {@code format: "json"} ask) against
     * {@code tokenizer}. Cached per (schema, tokenizer).
     *
     * @throws SchemaException naming the keyword (as a JSON pointer into the schema) that is
     *                         not supported or not valid
     */
    public static StructuredOutput compile(JsonNode schema, Tokenizer tokenizer) {
        throw new UnsupportedOperationException("structured output is not built yet");
    }

    /**
     * The same document with literal text before and after it, which may hold special tokens'
     * text (Qwen's {@code <tool_call>}, Mistral's {@code [TOOL_CALLS]}); used to force a tool call.
     */
    public StructuredOutput wrapped(String prefix, String suffix) {
        throw new UnsupportedOperationException("structured output is not built yet");
    }

    /**
     * A constraint for one generation of at most {@code maxTokens} tokens, which closes the
     * document in time and then allows only the end-of-generation token.
     *
     * @throws IllegalArgumentException when no valid document fits in {@code maxTokens} tokens
     */
    public TokenConstraint start(int maxTokens) {
        throw new UnsupportedOperationException("structured output is not built yet");
    }
}
