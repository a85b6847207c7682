import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gpud.config.EngineConfig;
import io.gpud.grammar.StructuredOutput;
import io.gpud.inference.Completion;
import io.gpud.inference.CpuBackend;
import io.gpud.inference.DemoModel;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.Penalties;
import io.gpud.inference.Sampling;
import io.gpud.inference.TokenConstraint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Constrained against unconstrained decoding on one model and prompt: the same request with
 * and without a JSON-schema constraint, interleaved repeat by repeat so both see the same
 * machine load, at temperature 1. The rate is generated tokens over the time from the first
 * token to the last (prefill left out). Prints each side's median rate, the ratio (target
 * at least 0.8) and, for the constrained runs, how many steps needed the mask (the sampler
 * asks the constraint about the token it drew first and masks only when it is refused) and
 * the time spent in the constraint. On a shared machine single repeats scatter widely; the
 * figure over all repeats together is the steadier one.
 *
 *   java -cp target/gpud.jar bench/StructuredBench.java MODEL.gguf|demo [TOKENS] [REPEATS]
 */
public class StructuredBench {
    static final String SCHEMA = """
            {"type":"object","properties":{"city":{"type":"string"},"country":{"type":"string"},
             "population":{"type":"integer","minimum":0},"summary":{"type":"string"},
             "landmarks":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},
              "built":{"type":"integer"}},"required":["name","built"],"additionalProperties":false}}},
             "required":["city","country","population","summary","landmarks"],"additionalProperties":false}""";
    /** Runs of each kind before measuring; override with -Dwarmup=N for slow models. */
    static final int WARMUP_RUNS = Integer.getInteger("warmup", 3);
    static final String PROMPT = "Describe Paris as a JSON object with the fields city, country, population, "
            + "a long summary, and landmarks (name, year built).\n";

    /** Counts the constraint's work: calls and nanoseconds. */
    static final class Counting implements TokenConstraint {
        final TokenConstraint inner;
        long masks;
        long steps;
        long nanos;

        Counting(TokenConstraint inner) {
            this.inner = inner;
        }

        @Override
        public boolean allows(int token) {
            long t = System.nanoTime();
            boolean allowed = inner.allows(token);
            nanos += System.nanoTime() - t;
            return allowed;
        }

        @Override
        public void mask(float[] logits) {
            long t = System.nanoTime();
            inner.mask(logits);
            nanos += System.nanoTime() - t;
            masks++;
        }

        @Override
        public void accept(int token) {
            long t = System.nanoTime();
            inner.accept(token);
            nanos += System.nanoTime() - t;
            steps++;
        }
    }

    record Run(int tokens, double seconds, String text) {
        double rate() {
            return (tokens - 1) / seconds;
        }
    }

    static Run run(Engine engine, int[] prompt, int tokens, long seed, TokenConstraint constraint) throws Exception {
        var done = new CompletableFuture<Completion>();
        long[] first = {0};
        long[] last = {0};
        int[] count = {0};
        var text = new StringBuilder();
        var listener = new GenerationListener() {
            @Override
            public void onToken(int token, String piece) {
                long now = System.nanoTime();
                if (count[0]++ == 0) {
                    first[0] = now;
                }
                last[0] = now;
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
        };
        engine.submit(new GenerationRequest("bench", prompt, tokens, new Sampling(1f, 1f, 0, seed), List.of(),
                constraint == null, Penalties.NONE, -1, constraint), listener);
        done.get();
        return new Run(count[0], (last[0] - first[0]) / 1e9, text.toString());
    }

    public static void main(String[] args) throws Exception {
        Path model;
        if (args[0].equals("demo")) {
            model = Files.createTempFile("gpud-demo", ".gguf");
            DemoModel.write(model, 42);
        } else {
            model = Path.of(args[0]);
        }
        int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        try (Engine engine = CpuBackend.load(model, null, "bench", EngineConfig.limits(4, 1, tokens))) {
            var schema = new JsonMapper().readTree(SCHEMA);
            long compileStart = System.nanoTime();
            var compiled = StructuredOutput.compile(schema, engine.tokenizer());
            double compileMs = (System.nanoTime() - compileStart) / 1e6;
            int[] prompt = engine.tokenizer().encode(PROMPT, true);
            for (int w = 0; w < WARMUP_RUNS; w++) { // the JIT compiles both paths before the clock runs
                run(engine, prompt, tokens, w, null);
                run(engine, prompt, tokens, w, compiled.start(tokens));
            }
            double[] free = new double[repeats];
            double[] constrained = new double[repeats];
            double[] ratios = new double[repeats];
            double freeTokens = 0;
            double freeSeconds = 0;
            double constrainedTokens = 0;
            double constrainedSeconds = 0;
            long masks = 0;
            long steps = 0;
            long nanos = 0;
            String sample = "";
            for (int r = 0; r < repeats; r++) {
                var counting = new Counting(compiled.start(tokens));
                Run c;
                Run f;
                if (r % 2 == 0) {
                    f = run(engine, prompt, tokens, r, null);
                    c = run(engine, prompt, tokens, r, counting);
                } else {
                    c = run(engine, prompt, tokens, r, counting);
                    f = run(engine, prompt, tokens, r, null);
                }
                free[r] = f.rate();
                constrained[r] = c.rate();
                ratios[r] = constrained[r] / free[r];
                freeTokens += f.tokens() - 1;
                freeSeconds += f.seconds();
                constrainedTokens += c.tokens() - 1;
                constrainedSeconds += c.seconds();
                masks += counting.masks;
                steps += counting.steps;
                nanos += counting.nanos;
                sample = c.text();
            }
            System.out.printf("model %s, vocabulary %d, %d tokens, %d repeats interleaved, schema compiled (with"
                    + " the vocabulary's trie, first use) in %.0f ms%n", args[0], engine.tokenizer().vocabSize(), tokens,
                    repeats, compileMs);
            System.out.printf("unconstrained %.1f tok/s, constrained %.1f tok/s (medians); ratio %.2f (per repeat %s),"
                    + " target 0.80%n", median(free), median(constrained), median(ratios), Arrays.toString(
                    Arrays.stream(ratios).map(x -> Math.round(x * 100) / 100.0).toArray()));
            System.out.printf("all repeats together: unconstrained %.1f tok/s, constrained %.1f tok/s, ratio %.2f%n",
                    freeTokens / freeSeconds, constrainedTokens / constrainedSeconds,
                    (constrainedTokens / constrainedSeconds) / (freeTokens / freeSeconds));
            System.out.printf("constrained steps %d, masked %d (%.0f%%), constraint time %.3f ms per step%n", steps,
                    masks, 100.0 * masks / Math.max(1, steps), nanos / 1e6 / Math.max(1, steps));
            System.out.println("last constrained document: " + sample);
        }
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
