package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large embedding batches on both APIs: fed to the engine a few at a time, so any batch up
 * to the cap runs on a small queue, in order; a failed input cancels what the request still
 * has in the engine; what is refused is refused before anything runs.
 */
class EmbeddingBatchesTest extends ApiServerTestBase {

    @Override
    long maxBodyBytes() {
        return 1 << 20;
    }

    @AfterEach
    void releaseHeldEmbeddings() {
        engine.embeddingGate.complete(null);
    }

    @Test
    void fiveHundredInputsOnASmallQueueComeBackInOrder() throws Exception {
        engine.embeddingCapacity = 3;
        var inputs = new ArrayList<String>();
        for (int i = 0; i < 500; i++) {
            inputs.add("[" + (i % 250) + (i < 250 ? "" : ",0") + "]"); // (length, sum) tells every input apart
        }
        var response = post("/v1/embeddings", "{\"model\":\"fake\",\"input\":" + inputs + "}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode data = json(response).get("data");
        assertEquals(500, data.size());
        for (int i = 0; i < 500; i++) {
            JsonNode item = data.get(i);
            assertEquals(i, item.get("index").asInt());
            double unit = item.at("/embedding/2").asDouble();
            assertEquals(i < 250 ? 1 : 2, item.at("/embedding/0").asDouble() / unit, 1e-3, "length of input " + i);
            assertEquals(i % 250, item.at("/embedding/1").asDouble() / unit, 1e-2, "sum of input " + i);
        }
        assertEquals(500, engine.embedded.size());
        assertTrue(engine.embeddingsPeak.get() <= 3, "peak " + engine.embeddingsPeak);
    }

    @Test
    void ollamaEmbedsFiveHundredInputsOnASmallQueueInOrder() throws Exception {
        engine.embeddingCapacity = 2;
        var inputs = new ArrayList<String>();
        for (int i = 0; i < 500; i++) {
            inputs.add("\"" + String.valueOf((char) ('a' + i / 60)).repeat(i % 60 + 1) + "\"");
        }
        var response = post("/api/embed", "{\"model\":\"fake\",\"input\":" + inputs + "}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode embeddings = json(response).get("embeddings");
        assertEquals(500, embeddings.size());
        for (int i = 0; i < 500; i++) {
            JsonNode v = embeddings.get(i);
            int length = i % 60 + 1;
            assertEquals(length + 1, v.get(0).asDouble() / v.get(2).asDouble(), 1e-3, "length of input " + i);
            assertEquals(FakeEngine.BOS + length * ('a' + i / 60), v.get(1).asDouble() / v.get(2).asDouble(), 0.5,
                    "sum of input " + i);
        }
        assertTrue(engine.embeddingsPeak.get() <= 2, "peak " + engine.embeddingsPeak);
    }

    @Test
    void aBatchUnderWayWaitsOutAFullEngineInsteadOfFailing() throws Exception {
        engine.burstAfter = 10;
        engine.rejectedBurst.set(5);
        var inputs = new ArrayList<String>();
        for (int i = 0; i < 40; i++) {
            inputs.add("[" + i + "]");
        }
        var response = post("/v1/embeddings", "{\"model\":\"fake\",\"input\":" + inputs + "}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode data = json(response).get("data");
        for (int i = 0; i < 40; i++) {
            assertEquals(i, data.get(i).at("/embedding/1").asDouble() / data.get(i).at("/embedding/2").asDouble(), 1e-3);
        }
        assertEquals(5, engine.embeddingsRejected.get(), "the engine was full for a while mid-batch");
        assertEquals(40, engine.embedded.size());
    }

    @Test
    void aFailedInputCancelsWhatTheRequestStillHasInTheEngine() throws Exception {
        engine.embeddingGate = new CompletableFuture<>();
        engine.failEmbeddingsWith = 7;
        var inputs = new ArrayList<String>();
        for (int i = 0; i < 100; i++) {
            inputs.add(i == 3 ? "[7]" : "[1]");
        }
        assertEquals(500, post("/v1/embeddings", "{\"model\":\"fake\",\"input\":" + inputs + "}").statusCode());
        assertAllButTheFailedOneCancelled(100);
    }

    @Test
    void ollamaCancelsTheRestWhenAnInputFails() throws Exception {
        engine.embeddingGate = new CompletableFuture<>();
        engine.failEmbeddingsWith = 7;
        var inputs = new ArrayList<String>();
        for (int i = 0; i < 100; i++) {
            inputs.add(i == 3 ? "\"\\u0007\"" : "\"a\"");
        }
        var response = post("/api/embed", "{\"model\":\"fake\",\"input\":" + inputs + "}");
        assertEquals(500, response.statusCode(), response.body());
        assertAllButTheFailedOneCancelled(100);
    }

    private void assertAllButTheFailedOneCancelled(int inputs) throws InterruptedException {
        int admitted = engine.embedded.size();
        assertTrue(admitted > 3 && admitted < inputs, "admitted " + admitted + " of " + inputs);
        awaitTrue(() -> engine.embeddingsCancelled.get() == admitted - 1,
                () -> "cancelled " + engine.embeddingsCancelled + " of " + (admitted - 1));
        assertEquals(0, engine.embeddingsRunning.get());
    }

    @Test
    void moreInputsThanTheCapAreRefusedBeforeAnyRuns() throws Exception {
        String inputs = "[" + String.join(",", java.util.Collections.nCopies(Embeddings.MAX_INPUTS + 1, "\"a\"")) + "]";
        JsonNode error = assertOpenAiError(post("/v1/embeddings", "{\"model\":\"fake\",\"input\":" + inputs + "}"), 400);
        assertEquals("input", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("at most 2048"), error.toString());

        var ollama = post("/api/embed", "{\"model\":\"fake\",\"input\":" + inputs + "}");
        assertEquals(400, ollama.statusCode(), ollama.body());
        assertTrue(json(ollama).get("error").asText().contains("'input' has 2049 inputs"), ollama.body());
        assertEquals(List.of(), engine.embedded);
    }

    @Test
    void moreTokensThanTheCapAreRefusedBeforeAnyRuns() throws Exception {
        var wide = new FakeEngine("wide", 1 << 20);
        engines.add(wide);
        String text = "x".repeat(Embeddings.MAX_TOTAL_TOKENS / 2);
        JsonNode error = assertOpenAiError(post("/v1/embeddings",
                "{\"model\":\"wide\",\"input\":[\"" + text + "\",\"" + text + "\"]}"), 400);
        assertEquals("input", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("300002 tokens in all, at most 300000"), error.toString());
        assertEquals(List.of(), wide.embedded);
    }

    @Test
    void theCapItselfIsServed() throws Exception {
        engine.embeddingCapacity = 5;
        String inputs = "[" + String.join(",", java.util.Collections.nCopies(Embeddings.MAX_INPUTS, "\"a\"")) + "]";
        var response = post("/v1/embeddings", "{\"model\":\"fake\",\"input\":" + inputs + "}");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(Embeddings.MAX_INPUTS, json(response).get("data").size());
    }

    @Test
    void wrongDimensionsAreRefusedBeforeAnyRuns() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/embeddings",
                "{\"model\":\"fake\",\"input\":[\"a\",\"b\",\"c\"],\"dimensions\":7}"), 400);
        assertEquals("dimensions", error.get("param").asText());
        assertEquals(List.of(), engine.embedded);
    }

    @Test
    void aFullEngineRefusesTheFirstInputAtOnceWith429() throws Exception {
        engine.embeddingCapacity = 0;
        HttpResponse<String> response = post("/v1/embeddings", "{\"model\":\"fake\",\"input\":[\"a\",\"b\"]}");
        assertEquals(429, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Retry-After").isPresent());
        assertEquals(List.of(), engine.embedded);
    }

    private static void awaitTrue(BooleanSupplier condition, java.util.function.Supplier<String> what)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out: " + what.get());
            }
            Thread.sleep(5);
        }
    }
}
