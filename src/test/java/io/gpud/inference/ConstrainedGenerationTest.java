package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Generations under a {@link TokenConstraint}, through a CPU engine on the demo model. */
class ConstrainedGenerationTest {
    private static final int EOS = 2;

    @TempDir
    Path dir;

    /** Even ids other than the end token for {@code length} tokens, then only the end token. */
    static final class EvenThenEnd implements TokenConstraint {
        final int length;
        final List<Integer> accepted = new ArrayList<>();

        EvenThenEnd(int length) {
            this.length = length;
        }

        @Override
        public boolean allows(int token) {
            return accepted.size() < length ? token % 2 == 0 && token != EOS : token == EOS;
        }

        @Override
        public void mask(float[] logits) {
            for (int token = 0; token < logits.length; token++) {
                if (!allows(token)) {
                    logits[token] = Float.NEGATIVE_INFINITY;
                }
            }
        }

        @Override
        public void accept(int token) {
            assertTrue(allows(token), "accepted a refused token " + token);
            accepted.add(token);
        }
    }

    /** Allows every token: a constraint that changes nothing. */
    static final class Anything implements TokenConstraint {
        @Override
        public boolean allows(int token) {
            return true;
        }

        @Override
        public void mask(float[] logits) {
        }

        @Override
        public void accept(int token) {
        }
    }

    private static RecordingListener run(Engine engine, int maxTokens, Sampling sampling, boolean ignoreEos,
                                         TokenConstraint constraint) {
        var request = new GenerationRequest("c", engine.tokenizer().encode("Once upon a time", true), maxTokens,
                sampling, List.of(), ignoreEos, Penalties.NONE, -1, constraint);
        var listener = new RecordingListener();
        assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
        listener.await();
        return listener;
    }

    private static void assertEvenThenEnd(RecordingListener listener, EvenThenEnd constraint) {
        int[] tokens = listener.tokenArray();
        assertEquals(constraint.length + 1, tokens.length);
        for (int i = 0; i < constraint.length; i++) {
            assertEquals(0, tokens[i] % 2, "token " + i + " of " + java.util.Arrays.toString(tokens));
        }
        assertEquals(EOS, tokens[constraint.length]);
        assertEquals(FinishReason.STOP, listener.await().finishReason());
        assertEquals(listener.tokens, constraint.accepted);
    }

    @Test
    void greedyAndSampledRunsKeepToTheConstraintAndEndWhenItAllowsTheEnd() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 2)) {
            var free = run(engine, 30, Sampling.greedy(), false, null);
            assertTrue(free.tokens.stream().anyMatch(t -> t % 2 == 1), "the demo model picks odd ids unconstrained");
            assertEquals(FinishReason.LENGTH, free.await().finishReason(), "and never the end token");

            for (Sampling sampling : List.of(Sampling.greedy(), new Sampling(1f, 1f, 0, 3),
                    new Sampling(0.8f, 0.9f, 40, 4))) {
                var constraint = new EvenThenEnd(12);
                assertEvenThenEnd(run(engine, 100, sampling, false, constraint), constraint);
                var ignoring = new EvenThenEnd(7);
                assertEvenThenEnd(run(engine, 100, sampling, true, ignoring), ignoring);
            }
        }
    }

    @Test
    void greedyUnderTheConstraintFollowsTheModelWhereItAgrees() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 2)) {
            int[] free = run(engine, 30, Sampling.greedy(), false, null).tokenArray();
            int[] constrained = run(engine, 30, Sampling.greedy(), false, new EvenThenEnd(29)).tokenArray();
            int agree = 0;
            while (free[agree] % 2 == 0) {
                agree++;
            }
            assertTrue(agree < 29);
            assertArrayEquals(java.util.Arrays.copyOf(free, agree), java.util.Arrays.copyOf(constrained, agree));
            assertTrue(constrained[agree] != free[agree] && constrained[agree] % 2 == 0);
        }
    }

    @Test
    void aConstraintThatAllowsEverythingChangesNothing() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 2)) {
            for (Sampling sampling : List.of(Sampling.greedy(), new Sampling(1f, 1f, 0, 9),
                    new Sampling(0.7f, 0.95f, 20, 9))) {
                int[] free = run(engine, 25, sampling, false, null).tokenArray();
                int[] constrained = run(engine, 25, sampling, false, new Anything()).tokenArray();
                assertArrayEquals(free, constrained, sampling.toString());
            }
        }
    }
    /** A constraint that recurses without end, as a self-referencing schema once did. */
    static final class Bottomless implements TokenConstraint {
        @Override
        public boolean allows(int token) {
            return allows(token + 1);
        }

        @Override
        public void mask(float[] logits) {
            allows(0);
        }

        @Override
        public void accept(int token) {
        }
    }

    @Test
    void aConstraintThatOverflowsTheStackFailsItsRequestAloneAndTheEngineServesOn() {
        try (Engine engine = DemoModelFixture.engine(dir, 4, 2)) {
            var request = new GenerationRequest("deep", engine.tokenizer().encode("Once", true), 10,
                    Sampling.greedy(), List.of(), false, Penalties.NONE, -1, new Bottomless());
            var failing = new RecordingListener();
            assertInstanceOf(Admission.Accepted.class, engine.submit(request, failing));
            Throwable error = failing.awaitFailure();
            assertTrue(error.getMessage().contains("overflowed the stack"), error.toString());
            assertEquals(FinishReason.LENGTH, run(engine, 5, Sampling.greedy(), false, null).await().finishReason());
            assertTrue(engine.quarantineReason().isEmpty());
        }
    }
}
