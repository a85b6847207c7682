package io.gpud.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.EngineConfig;
import io.gpud.inference.Admission;
import io.gpud.inference.Completion;
import io.gpud.inference.CpuBackend;
import io.gpud.inference.DemoModel;
import io.gpud.inference.Engine;
import io.gpud.inference.FinishReason;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.Penalties;
import io.gpud.inference.RealVocabularyModel;
import io.gpud.inference.Sampling;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema-constrained generations through a real engine over random-weight models, sampled at
 * temperature 1: the demo model (a byte vocabulary whose random weights never choose the end
 * token) and a model with Qwen 2.5's 151,665-token byte-level BPE vocabulary whose random
 * classifier draws anything, control tokens and half characters included. Every generation
 * must end with the end token inside its budget and give a document that parses and that an
 * independent validator accepts.
 */
class SchemaGenerationsTest {
    @TempDir
    Path dir;

    /** The text a client received and how the generation ended. */
    record Outcome(String text, Completion completion) {
    }

    static final class Collector implements GenerationListener {
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<Completion> done = new CompletableFuture<>();

        @Override
        public void onToken(int token, String piece) {
            text.append(piece);
        }

        @Override
        public void onDone(Completion completion) {
            done.complete(completion);
        }

        @Override
        public void onFailure(RuntimeException error) {
            done.completeExceptionally(error);
        }
    }

    /** Runs {@code count} generations per schema, {@code inFlight} at a time; returns how many ran. */
    static int generate(Engine engine, List<Schemas.Named> schemas, int count, int slack, long seed) throws Exception {
        int[] prompt = engine.tokenizer().encode("Answer with a JSON document:", true);
        var random = new SplittableRandom(seed);
        int ran = 0;
        for (Schemas.Named named : schemas) {
            var compiled = StructuredOutput.compile(named.schema(), engine.tokenizer());
            var pending = new ArrayList<CompletableFuture<Outcome>>();
            var budgets = new ArrayList<Integer>();
            for (int i = 0; i < count; i++) {
                int maxTokens = shortest(compiled) + random.nextInt(slack);
                var collector = new Collector();
                var request = new GenerationRequest(named.name() + "-" + i, prompt, maxTokens,
                        new Sampling(1f, 1f, 0, random.nextLong()), List.of(), false, Penalties.NONE, -1,
                        compiled.start(maxTokens));
                assertInstanceOf(Admission.Accepted.class, engine.submit(request, collector));
                pending.add(collector.done.thenApply(c -> new Outcome(collector.text.toString(), c)));
                budgets.add(maxTokens);
            }
            for (int i = 0; i < pending.size(); i++) {
                Outcome outcome = pending.get(i).get(5, TimeUnit.MINUTES);
                String context = named.name() + " #" + i + ": " + outcome.text();
                assertEquals(FinishReason.STOP, outcome.completion().finishReason(), context);
                assertTrue(outcome.completion().completionTokens() <= budgets.get(i), context);
                SchemaCheck.assertValid(named.schema(), outcome.text());
                ran++;
            }
        }
        return ran;
    }

    private static int shortest(StructuredOutput compiled) {
        for (int n = 1; ; n++) {
            try {
                compiled.start(n);
                return n;
            } catch (IllegalArgumentException tooFew) {
                // one more
            }
        }
    }

    @Test
    void demoModelAndRealVocabularyGenerationsAllValidate() throws Exception {
        Path demo = dir.resolve("demo.gguf");
        DemoModel.write(demo, 42);
        int ran;
        try (Engine engine = CpuBackend.load(demo, null, "demo", EngineConfig.limits(64, 10, 64))) {
            ran = generate(engine, Schemas.ALL, 10, 250, 1);
        }
        try (Engine engine = CpuBackend.load(RealVocabularyModel.writeQwen(dir), null, "qwen-vocabulary",
                EngineConfig.limits(64, 5, 64))) {
            ran += generate(engine, Schemas.ALL, 5, 120, 2);
        }
        assertTrue(ran >= 200, ran + " generations");
    }

    @Test
    void theSchemasClientsSendGenerateOnTheDemoModel() throws Exception {
        Path demo = dir.resolve("demo.gguf");
        DemoModel.write(demo, 43);
        try (Engine engine = CpuBackend.load(demo, null, "demo", EngineConfig.limits(64, 6, 64))) {
            assertEquals(Schemas.CLIENTS.size() * 6, generate(engine, Schemas.CLIENTS, 6, 200, 3));
        }
    }
}
