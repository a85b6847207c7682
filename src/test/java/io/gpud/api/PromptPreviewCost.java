package io.gpud.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.Time;
import io.gpud.metrics.MetricRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * What naming a request's prompt blocks costs the routing node (the prompt preview every
 * routed request pays when {@code routing.weightCache} is on): a 20-turn chat of about
 * 8,000 characters through {@code /v1/chat/completions}'s own parsing, the chat template,
 * the tokenizer and {@code PrefixHashes}. Uses {@link FakeEngine}'s byte tokenizer and
 * plain template, so the figure leaves out what a real BPE tokenizer and Jinja template
 * add (measure those with the engine's own benchmarks). Run from the test classpath:
 * {@code java -cp target/classes:target/test-classes:... io.gpud.api.PromptPreviewCost}.
 */
public final class PromptPreviewCost {

    private PromptPreviewCost() {
    }

    public static void main(String[] args) throws Exception {
        var engine = new FakeEngine("m", 1 << 16);
        engine.prefixCache = FakeEngine.namingBlocks(7, 16);
        var generations = new Generations(() -> List.of(engine), new ApiMetrics(new MetricRegistry(), () -> List.of(engine)), 16,
                Duration.ofSeconds(1), Time.system());
        var handlers = new OpenAiHandlers(() -> List.of(engine), generations, null, Time.system());
        var messages = new StringBuilder("[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"}");
        for (int turn = 0; turn < 20; turn++) {
            messages.append(",{\"role\":\"user\",\"content\":\"Question ").append(turn)
                    .append(": tell me more about the history of the river and its bridges, please.\"}")
                    .append(",{\"role\":\"assistant\",\"content\":\"").append("The river has long been crossed by"
                            + " ferries and later by stone bridges; each was rebuilt after floods. ".repeat(4))
                    .append("\"}");
        }
        messages.append(",{\"role\":\"user\",\"content\":\"And today?\"}]");
        var body = (ObjectNode) new ObjectMapper().readTree("{\"model\":\"m\",\"messages\":" + messages + "}");
        long[] names = generations.prefixNames(handlers.chatParams(body));
        int iterations = 20_000;
        long sink = 0;
        for (int round = 0; round < 3; round++) {
            long start = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                sink += generations.prefixNames(handlers.chatParams(body)).length;
            }
            long parse = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                sink += handlers.chatParams(body).maxTokens();
            }
            long end = System.nanoTime();
            System.out.printf(Locale.ROOT, "chat of %d characters, %d blocks: preview %.1f us (of which parsing"
                            + " the body %.1f us)%n", messages.length(), names.length,
                    (parse - start) / 1e3 / iterations, (end - parse) / 1e3 / iterations);
        }
        if (sink == 42) {
            System.out.println();
        }
    }
}
