package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.EngineConfig;
import io.gpud.model.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Penalties and log-probabilities through a CPU engine on the demo model, checked against its forward pass. */
class PenaltiesAndLogprobsTest {
    @TempDir
    Path dir;
    private Path model;

    @BeforeEach
    void writeModel() {
        model = DemoModelFixture.write(dir, GgmlType.F32);
    }

    /** Records each token's log-probabilities too. */
    static final class LogprobListener extends RecordingListener {
        final List<TokenLogprobs> logprobs = new ArrayList<>();

        @Override
        public synchronized void onToken(int token, String piece, TokenLogprobs tokenLogprobs) {
            logprobs.add(tokenLogprobs);
            onToken(token, piece);
        }
    }

    private Engine engine() {
        return CpuBackend.load(model, null, "demo", EngineConfig.limits(4, 2, 64));
    }

    private static LogprobListener run(Engine engine, int[] prompt, int maxTokens, Sampling sampling,
                                       Penalties penalties, int topLogprobs) {
        var request = new GenerationRequest("p", prompt, maxTokens, sampling, List.of(), false, penalties,
                topLogprobs, null);
        var listener = new LogprobListener();
        assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
        listener.await();
        return listener;
    }

    private static int[] prompt(Engine engine) {
        return engine.tokenizer().encode("Once upon a time there was", true);
    }

    @Test
    void penaltiesThatChangeNothingAndLogprobsLeaveGreedyOutputBitIdentical() {
        try (Engine engine = engine()) {
            int[] prompt = prompt(engine);
            LogprobListener plain = run(engine, prompt, 60, Sampling.greedy(), Penalties.NONE, -1);
            assertTrue(plain.logprobs.stream().allMatch(java.util.Objects::isNull), "no log-probabilities unasked");
            for (Penalties none : List.of(new Penalties(0f, 0f, 1f, -1), new Penalties(0f, 0f, 1f, 64),
                    new Penalties(2f, 2f, 3f, 0))) {
                assertArrayEquals(plain.tokenArray(), run(engine, prompt, 60, Sampling.greedy(), none, -1).tokenArray(),
                        none.toString());
            }
            assertArrayEquals(plain.tokenArray(), run(engine, prompt, 60, Sampling.greedy(), Penalties.NONE, 5).tokenArray());
        }
    }

    @Test
    void strongPenaltiesForbidRepeats() {
        try (Engine engine = engine()) {
            int[] prompt = prompt(engine);
            int[] plain = run(engine, prompt, 40, Sampling.greedy(), Penalties.NONE, -1).tokenArray();
            assertTrue(Arrays.stream(plain).distinct().count() < plain.length, "the demo model repeats itself");
            // a positive logit of a seen token falls to about -2, a negative one far below: every unseen
            // token the classifier leaves at logit 0 (the demo model has many) beats every seen one
            var penalties = new Penalties(2f, 0f, 1e6f, -1);
            int[] penalised = run(engine, prompt, 40, Sampling.greedy(), penalties, -1).tokenArray();
            var seen = new HashSet<Integer>();
            for (int token : prompt) {
                seen.add(token);
            }
            for (int token : penalised) {
                assertTrue(seen.add(token), "token " + token + " repeats in " + Arrays.toString(penalised));
            }
        }
    }

    @Test
    void logprobsAreTheLogSoftmaxOfThePenalisedLogitsAtTemperatureOne() {
        var penalties = new Penalties(0.5f, 0.4f, 1.2f, 8);
        try (Engine engine = engine()) {
            int[] prompt = prompt(engine);
            LogprobListener run = run(engine, prompt, 24, new Sampling(0.7f, 0.9f, 30, 21), penalties, 5);
            int[] generated = run.tokenArray();
            int[] context = Arrays.copyOf(prompt, prompt.length + generated.length);
            System.arraycopy(generated, 0, context, prompt.length, generated.length);
            float[][] logits = CpuReference.logitsAlong(model, context);
            for (int i = 0; i < generated.length; i++) {
                int length = prompt.length + i;
                float[] penalised = TokenCountsTest.penalisedFromScratch(logits[length - 1], context, length, penalties);
                double[] expected = logSoftmax(penalised);
                TokenLogprobs got = run.logprobs.get(i);
                assertEquals(generated[i], got.token());
                assertEquals(expected[generated[i]], got.logprob(), 1e-4, "token " + i);
                assertEquals(5, got.topTokens().length);
                Integer[] byLikelihood = new Integer[penalised.length];
                Arrays.setAll(byLikelihood, t -> t);
                Arrays.sort(byLikelihood, (a, b) -> Double.compare(expected[b], expected[a]));
                for (int k = 0; k < 5; k++) {
                    assertEquals(byLikelihood[k], got.topTokens()[k], "alternative " + k + " of token " + i);
                    assertEquals(expected[byLikelihood[k]], got.topLogprobs()[k], 1e-4);
                }
            }
        }
    }

    @Test
    void outputOnlyPresenceAndFrequencyCountTheGeneratedTokensAndRepetitionTheWholeContext() {
        var penalties = new Penalties(1.5f, 0.7f, 1.3f, -1, true);
        try (Engine engine = engine()) {
            int[] prompt = prompt(engine);
            LogprobListener run = run(engine, prompt, 24, Sampling.greedy(), penalties, 3);
            int[] generated = run.tokenArray();
            int[] context = Arrays.copyOf(prompt, prompt.length + generated.length);
            System.arraycopy(generated, 0, context, prompt.length, generated.length);
            float[][] logits = CpuReference.logitsAlong(model, context);
            var repetition = new Penalties(0f, 0f, 1.3f, -1);
            var occurrences = new Penalties(1.5f, 0.7f, 1f, -1);
            for (int i = 0; i < generated.length; i++) {
                int length = prompt.length + i;
                float[] penalised = TokenCountsTest.penalisedFromScratch(logits[length - 1], context, length, repetition);
                penalised = TokenCountsTest.penalisedFromScratch(penalised, generated, i, occurrences);
                double[] expected = logSoftmax(penalised);
                assertEquals(expected[generated[i]], run.logprobs.get(i).logprob(), 1e-4, "token " + i);
                assertEquals(Sampler.argmax(penalised), generated[i], "greedy token " + i);
            }
        }
    }

    @Test
    void logprobsUnderAConstraintAreThoseOfTheAllowedTokensAndZeroAlternativesGiveOnlyTheToken() {
        try (Engine engine = engine()) {
            var constraint = new ConstrainedGenerationTest.EvenThenEnd(6);
            var request = new GenerationRequest("c", prompt(engine), 20, Sampling.greedy(), List.of(), false,
                    Penalties.NONE, 20, constraint);
            var listener = new LogprobListener();
            assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
            listener.await();
            for (TokenLogprobs logprobs : listener.logprobs.subList(0, 6)) {
                assertEquals(logprobs.topTokens()[0], logprobs.token(), "greedy takes the most likely allowed token");
                assertTrue(Arrays.stream(logprobs.topTokens()).allMatch(t -> t % 2 == 0 && t != 2));
                assertTrue(logprobs.logprob() <= 0f);
            }
            TokenLogprobs end = listener.logprobs.get(6);
            assertEquals(2, end.token());
            assertEquals(0f, end.logprob(), 1e-6, "the only allowed token is certain");
            assertArrayEquals(new int[] {2}, end.topTokens());

            LogprobListener bare = run(engine, prompt(engine), 5, Sampling.greedy(), Penalties.NONE, 0);
            for (TokenLogprobs logprobs : bare.logprobs) {
                assertEquals(0, logprobs.topTokens().length);
                assertTrue(logprobs.logprob() < 0f);
            }
            assertNull(run(engine, prompt(engine), 2, Sampling.greedy(), Penalties.NONE, -1).logprobs.get(0));
        }
    }

    private static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        double log = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - log;
        }
        return out;
    }
}
