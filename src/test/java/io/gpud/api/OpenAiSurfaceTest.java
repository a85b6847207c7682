package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.Penalties;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI surface beyond one plain completion: several choices, seeds, penalties,
 * log-probabilities, echo, one model by id, and embeddings.
 */
class OpenAiSurfaceTest extends ApiServerTestBase {

    @Test
    void severalChoicesAreSeparateGenerationsSeededInTurnWithUsageSummed() throws Exception {
        var response = post("/v1/completions", """
                {"model":"fake","prompt":"hi","max_tokens":3,"n":3,"best_of":3,"seed":40}""");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = json(response);
        assertEquals(3, body.get("choices").size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, body.at("/choices/" + i + "/index").asInt());
            assertEquals("abc", body.at("/choices/" + i + "/text").asText());
        }
        assertEquals(List.of(40L, 41L, 42L), engine.submitted.stream().map(r -> r.sampling().seed()).toList());
        assertEquals(3, body.at("/usage/prompt_tokens").asInt(), "the prompt counts once");
        assertEquals(9, body.at("/usage/completion_tokens").asInt());
        assertEquals(12, body.at("/usage/total_tokens").asInt());
    }

    @Test
    void withoutASeedEachChoiceDrawsItsOwn() throws Exception {
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":1,\"n\":2}");
        assertEquals(200, response.statusCode(), response.body());
        assertNotEquals(engine.submitted.get(0).sampling().seed(), engine.submitted.get(1).sampling().seed());
    }

    @Test
    void severalChoicesStreamEachWithItsIndexAndFinish() throws Exception {
        var response = post("/v1/completions", """
                {"model":"fake","prompt":"hi","max_tokens":2,"n":2,"stream":true,"stream_options":{"include_usage":true}}""");
        assertEquals(200, response.statusCode(), response.body());
        List<JsonNode> events = sseEvents(response.body());
        var text = new StringBuilder[] {new StringBuilder(), new StringBuilder()};
        var finishes = new ArrayList<String>();
        for (JsonNode e : events.subList(0, events.size() - 2)) {
            JsonNode choice = e.at("/choices/0");
            text[choice.get("index").asInt()].append(choice.get("text").asText());
            if (!choice.get("finish_reason").isNull()) {
                finishes.add(choice.get("index").asInt() + ":" + choice.get("finish_reason").asText());
            }
        }
        assertEquals("ab", text[0].toString());
        assertEquals("ab", text[1].toString());
        assertEquals(List.of("0:length", "1:length"), finishes);
        assertEquals(4, events.get(events.size() - 2).at("/usage/completion_tokens").asInt());
    }

    @Test
    void aRefusedChoiceCancelsThoseAlreadyAdmitted() throws Exception {
        engine.tokenDelay = Duration.ofMillis(50);
        engine.admitAtMost = 1;
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":50,\"n\":2}");
        engine.admitAtMost = Integer.MAX_VALUE;
        engine.tokenDelay = Duration.ZERO;
        JsonNode error = assertOpenAiError(response, 429);
        assertTrue(error.get("message").asText().contains("queue is full"), error.toString());
        assertTrue(engine.cancelled.await(5, TimeUnit.SECONDS), "the admitted choice is cancelled");
    }
    @Test
    void penaltiesAndSamplingReachTheEngine() throws Exception {
        var response = post("/v1/completions", """
                {"model":"fake","prompt":"hi","max_tokens":1,"presence_penalty":0.5,"frequency_penalty":-0.25,
                 "repetition_penalty":1.1,"top_k":40,"top_p":0.9,"temperature":0.7,"seed":7,"stop":["x","y","z","w"]}""");
        assertEquals(200, response.statusCode(), response.body());
        GenerationRequest request = engine.submitted.getLast();
        assertEquals(new Penalties(0.5f, -0.25f, 1.1f, -1, true), request.penalties());
        assertEquals(40, request.sampling().topK());
        assertEquals(0.9f, request.sampling().topP());
        assertEquals(0.7f, request.sampling().temperature());
        assertEquals(7L, request.sampling().seed());
        assertEquals(List.of("x", "y", "z", "w"), request.stop());
        assertEquals(-1, request.topLogprobs());

        post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":1,\"presence_penalty\":0}");
        assertEquals(Penalties.NONE, engine.submitted.getLast().penalties(), "zero penalties are none");
    }

    @Test
    void theTokenBudgetFitsTheDevicesSlotWhereItHoldsLessThanTheContext() throws Exception {
        engine.positionLimit = 20;
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":50}");
        assertEquals(200, response.statusCode(), response.body());
        GenerationRequest request = engine.submitted.getLast();
        assertEquals(20 - request.promptTokens().length, request.maxTokens(), "the budget ends where the slot ends");
        JsonNode error = assertOpenAiError(post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\""
                + "x".repeat(30) + "\",\"max_tokens\":5}"), 400);
        assertTrue(error.get("message").asText().contains("20"), error.toString());
    }

    @Test
    void stopSequencesAreRefusedBesideAStructuredOutputTheyCouldCutShort() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/chat/completions", """
                {"model":"fake","messages":[{"role":"user","content":"hi"}],"max_tokens":40,
                 "response_format":{"type":"json_object"},"stop":["}"]}"""), 400);
        assertEquals("stop", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("structured output"), error.toString());
    }

    @Test
    void completionLogprobsCarryTokensOffsetsAndAlternatives() throws Exception {
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":3,\"logprobs\":2}");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(2, engine.submitted.getLast().topLogprobs());
        JsonNode logprobs = json(response).at("/choices/0/logprobs");
        assertEquals("[\"a\",\"b\",\"c\"]", logprobs.get("tokens").toString());
        assertEquals(-0.1, logprobs.at("/token_logprobs/0").asDouble(), 1e-6);
        assertEquals(-0.3, logprobs.at("/token_logprobs/2").asDouble(), 1e-6);
        assertEquals("[0,1,2]", logprobs.get("text_offset").toString());
        assertEquals(2, logprobs.at("/top_logprobs/0").size());
        assertEquals(-0.2, logprobs.at("/top_logprobs/0/b").asDouble(), 1e-6, logprobs.toString());
        assertEquals(-0.3, logprobs.at("/top_logprobs/0/c").asDouble(), 1e-6, logprobs.toString());
    }

    @Test
    void echoPrefixesThePrompt() throws Exception {
        var response = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"hi \",\"max_tokens\":2,\"echo\":true}");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("hi ab", json(response).at("/choices/0/text").asText());

        var ids = post("/v1/completions", "{\"model\":\"fake\",\"prompt\":[104,105],\"max_tokens\":1,\"echo\":true,"
                + "\"stream\":true}");
        var text = new StringBuilder();
        for (JsonNode e : sseEvents(ids.body())) {
            if (e.has("choices") && !e.get("choices").isEmpty()) {
                text.append(e.at("/choices/0/text").asText());
            }
        }
        assertEquals("hia", text.toString());
    }

    @Test
    void oneModelById() throws Exception {
        var response = get("/v1/models/fake");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode model = json(response);
        assertEquals("fake", model.get("id").asText());
        assertEquals("model", model.get("object").asText());
        assertEquals(1_700_000_000L, model.get("created").asLong());
        assertEquals("gpud", model.get("owned_by").asText());

        JsonNode error = assertOpenAiError(get("/v1/models/nope"), 404);
        assertEquals("model_not_found", error.get("code").asText());
        assertTrue(error.get("message").asText().contains("'nope'"), error.toString());
    }

    @Test
    void embedsAStringAsUnitFloats() throws Exception {
        var response = post("/v1/embeddings", "{\"model\":\"fake\",\"input\":\"hi\",\"user\":\"u1\",\"dimensions\":4}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = json(response);
        assertEquals("list", body.get("object").asText());
        assertEquals("fake", body.get("model").asText());
        assertEquals("embedding", body.at("/data/0/object").asText());
        assertEquals(0, body.at("/data/0/index").asInt());
        JsonNode vector = body.at("/data/0/embedding");
        assertEquals(4, vector.size());
        double norm = 0;
        for (JsonNode x : vector) {
            norm += x.asDouble() * x.asDouble();
        }
        assertEquals(1.0, norm, 1e-5);
        assertEquals(3, body.at("/usage/prompt_tokens").asInt(), "BOS + 2 bytes");
        assertEquals(3, body.at("/usage/total_tokens").asInt());
        assertArrayEquals(new int[] {FakeEngine.BOS, 'h', 'i'}, engine.embedded.getLast().tokens());
        assertTrue(engine.embedded.getLast().normalize());
    }

    @Test
    void embedsEveryInputFormInOrder() throws Exception {
        var strings = json(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":[\"a\",\"bcd\",\"ef\"]}"));
        assertEquals(3, strings.get("data").size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, strings.at("/data/" + i + "/index").asInt());
        }
        assertEquals(2 + 4 + 3, strings.at("/usage/prompt_tokens").asInt());
        // the length in the first coordinate tells the inputs apart: 2 < 4, 3 in between
        double first = strings.at("/data/0/embedding/0").asDouble() / strings.at("/data/0/embedding/2").asDouble();
        double second = strings.at("/data/1/embedding/0").asDouble() / strings.at("/data/1/embedding/2").asDouble();
        assertEquals(2.0, first, 1e-4);
        assertEquals(4.0, second, 1e-4);

        var ids = json(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":[104,105]}"));
        assertEquals(1, ids.get("data").size());
        assertArrayEquals(new int[] {104, 105}, engine.embedded.getLast().tokens(), "token ids are used as given");

        var arrays = json(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":[[1,2],[3]]}"));
        assertEquals(2, arrays.get("data").size());
        assertEquals(3, arrays.at("/usage/prompt_tokens").asInt());
    }

    @Test
    void base64IsLittleEndianFloat32() throws Exception {
        JsonNode floats = json(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":\"hi\"}"));
        JsonNode packed = json(post("/v1/embeddings",
                "{\"model\":\"fake\",\"input\":\"hi\",\"encoding_format\":\"base64\"}"));
        var bytes = ByteBuffer.wrap(Base64.getDecoder().decode(packed.at("/data/0/embedding").asText()))
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(16, bytes.remaining());
        for (int i = 0; i < 4; i++) {
            assertEquals((float) floats.at("/data/0/embedding/" + i).asDouble(), bytes.getFloat());
        }
    }

    @Test
    void badEmbeddingInputsAreRefusedByName() throws Exception {
        assertEquals("input", assertOpenAiError(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":\"\"}"), 400)
                .get("param").asText());
        assertEquals("input", assertOpenAiError(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":[]}"), 400)
                .get("param").asText());
        assertEquals("input[1]", assertOpenAiError(post("/v1/embeddings",
                "{\"model\":\"fake\",\"input\":[\"a\",5]}"), 400).get("param").asText());
        assertEquals("input", assertOpenAiError(post("/v1/embeddings",
                "{\"model\":\"fake\",\"input\":[1,999]}"), 400).get("param").asText());
        JsonNode tooLong = assertOpenAiError(post("/v1/embeddings",
                "{\"model\":\"fake\",\"input\":[\"a\",\"" + "x".repeat(70) + "\"]}"), 400);
        assertEquals("input[1]", tooLong.get("param").asText());
        assertEquals("context_length_exceeded", tooLong.get("code").asText());
        engine.refusing = "the model fake on fake does not compute embeddings";
        JsonNode refused = assertOpenAiErrorWhileRefusing(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":\"a\"}"));
        assertTrue(refused.get("message").asText().contains("does not compute embeddings"), refused.toString());
    }

    private JsonNode assertOpenAiErrorWhileRefusing(HttpResponse<String> response) throws Exception {
        assertEquals(400, response.statusCode(), response.body());
        engine.refusing = null;
        return json(response).get("error");
    }
}
