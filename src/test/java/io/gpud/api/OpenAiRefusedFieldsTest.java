package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every OpenAI request field this server does not honour is refused with a 400 whose
 * {@code param} names it (README's "OpenAI request fields" table lists them); nothing a
 * client asks for is dropped in silence.
 */
class OpenAiRefusedFieldsTest extends ApiServerTestBase {

    private static final String CHAT = "\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    private static final String TEXT = "\"model\":\"fake\",\"prompt\":\"hi\"";
    private static final String EMBED = "\"model\":\"fake\",\"input\":\"hi\"";
    private static final String RESPOND = "\"model\":\"fake\",\"input\":\"hi\"";

    @ParameterizedTest(name = "{0} {2}")
    @CsvSource(delimiter = '|', textBlock = """
            /v1/chat/completions | "audio":{"voice":"alloy","format":"wav"}         | audio                            | audio output
            /v1/chat/completions | "modalities":["text","audio"]                    | modalities                       | text only
            /v1/chat/completions | "prediction":{"type":"content","content":"x"}    | prediction                       | predicted outputs
            /v1/chat/completions | "web_search_options":{}                          | web_search_options               | web search
            /v1/chat/completions | "logit_bias":{"50256":-100}                      | logit_bias                       | logits
            /v1/chat/completions | "service_tier":"flex"                            | service_tier                     | one tier
            /v1/chat/completions | "store":true                                     | store                            | stateless
            /v1/chat/completions | "metadata":{"k":"v"}                             | metadata                         | not stored
            /v1/chat/completions | "functions":[{"name":"f"}]                       | functions                        | deprecated form
            /v1/chat/completions | "function_call":"auto"                           | function_call                    | deprecated form
            /v1/chat/completions | "prompt_cache_key":"k"                           | prompt_cache_key                 | prompt cache
            /v1/chat/completions | "prompt_cache_retention":"24h"                    | prompt_cache_retention           | prompt cache
            /v1/responses        | "service_tier":"priority"                        | service_tier                     | one tier
            /v1/chat/completions | "verbosity":"low"                                | verbosity                        | verbosity
            /v1/chat/completions | "mirostat":2                                     | mirostat                         | not supported
            /v1/chat/completions | "stream":true,"stream_options":{"include_obfuscation":true} | stream_options.include_obfuscation | not supported
            /v1/chat/completions | "top_logprobs":2                                 | top_logprobs                     | needs 'logprobs'
            /v1/chat/completions | "logprobs":true,"top_logprobs":21                | top_logprobs                     | between 0 and 20
            /v1/chat/completions | "n":9                                            | n                                | at most 8
            /v1/chat/completions | "presence_penalty":2.5                           | presence_penalty                 | between
            /v1/chat/completions | "frequency_penalty":-3                           | frequency_penalty                | between
            /v1/chat/completions | "repetition_penalty":0                           | repetition_penalty               | (0, 10]
            /v1/chat/completions | "reasoning_effort":"extreme"                     | reasoning_effort                 | none, minimal
            /v1/chat/completions | "response_format":{"type":"xml"}                 | response_format.type             | json_schema
            /v1/chat/completions | "response_format":{"type":"json_schema"}         | response_format.json_schema      | required
            /v1/chat/completions | "response_format":{"type":"json_schema","json_schema":{"name":"a b","schema":{}}} | response_format.json_schema.name | letters
            /v1/chat/completions | "response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{},"extra":1}} | response_format.json_schema.extra | not supported
            /v1/chat/completions | "tools":[{"type":"custom","custom":{"name":"f"}}] | tools[0].type                   | function tools
            /v1/chat/completions | "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}} | tool_choice.function.name | does not offer
            /v1/chat/completions | "tool_choice":"required"                          | tool_choice                      | offers none
            /v1/chat/completions | "user":"%s"                                      | user                             | at most 256
            /v1/completions      | "suffix":"end"                                   | suffix                           | inserting
            /v1/completions      | "logit_bias":{"1":5}                             | logit_bias                       | logits
            /v1/completions      | "best_of":3                                      | best_of                          | best_of equal to n
            /v1/completions      | "echo":true,"logprobs":1                         | echo                             | log-probabilities
            /v1/completions      | "logprobs":21                                    | logprobs                         | between 0 and 20
            /v1/completions      | "store":true                                     | store                            | stateless
            /v1/completions      | "metadata":{"k":"v"}                             | metadata                         | not stored
            /v1/completions      | "response_format":{"type":"json_object"}         | response_format                  | not supported
            /v1/embeddings       | "dimensions":7                                   | dimensions                       | 4 dimensions only
            /v1/embeddings       | "encoding_format":"int8"                         | encoding_format                  | float or base64
            /v1/embeddings       | "truncate":true                                  | truncate                         | not supported
            /v1/responses        | "previous_response_id":"resp_1"                  | previous_response_id             | stateless
            /v1/responses        | "conversation":"conv_1"                          | conversation                     | stateless
            /v1/responses        | "background":true                                | background                       | stateless
            /v1/responses        | "store":true                                     | store                            | stateless
            /v1/responses        | "include":["message.output_text.logprobs"]       | include                          | empty array
            /v1/responses        | "truncation":"auto"                              | truncation                       | never cut
            /v1/responses        | "reasoning":{"summary":"auto"}                   | reasoning.summary                | not supported
            /v1/responses        | "tools":[{"type":"web_search"}]                  | tools[0].type                    | hosted tools
            /v1/responses        | "tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"} | tool_choice.name | does not offer
            /v1/responses        | "text":{"format":{"type":"json_schema","name":"a","schema":[]}} | text.format.schema | an object
            /v1/responses        | "top_logprobs":2                                 | top_logprobs                     | not supported
            /v1/responses        | "max_tool_calls":2                               | max_tool_calls                   | not supported
            /v1/responses        | "prompt":{"id":"pmpt_1"}                         | prompt                           | not supported
            """)
    void refusedFieldIsA400NamingIt(String path, String field, String param, String says) throws Exception {
        String base = switch (path) {
            case "/v1/chat/completions" -> CHAT;
            case "/v1/completions" -> TEXT;
            case "/v1/embeddings" -> EMBED;
            default -> RESPOND;
        };
        String body = "{" + base + "," + field.formatted("u".repeat(257)) + "}";
        var response = post(path, body);
        assertEquals(0, engine.submitted.size(), "nothing was generated for " + body);
        JsonNode error = assertOpenAiError(response, 400);
        assertEquals(param, error.get("param").asText(), error.toString());
        assertTrue(error.get("message").asText().contains(says), error.toString());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            /v1/chat/completions | "messages":[{"role":"user","content":"hi","audio":{"id":"a"}}]             | messages[0].audio
            /v1/chat/completions | "messages":[{"role":"assistant","content":"","refusal":"no"}]             | messages[0].refusal
            /v1/chat/completions | "messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{}}]}] | messages[0].content[0].cache_control
            /v1/responses        | "input":[{"type":"item_reference","id":"msg_1"}]                          | input[0].type
            /v1/responses        | "input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}] | input[0].content[0].type
            /v1/responses        | "input":[{"type":"function_call_output","output":"x"}]                    | input[0].call_id
            """)
    void refusedNestedFieldIsA400NamingIt(String path, String field, String param) throws Exception {
        var response = post(path, "{\"model\":\"fake\"," + field + "}");
        assertEquals(0, engine.submitted.size(), "nothing was generated");
        JsonNode error = assertOpenAiError(response, 400);
        assertEquals(param, error.get("param").asText(), error.toString());
    }
}
