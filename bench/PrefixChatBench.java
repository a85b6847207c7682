import io.gpud.config.EngineConfig;
import io.gpud.inference.Admission;
import io.gpud.inference.Completion;
import io.gpud.inference.CpuBackend;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.PrefixCacheView;
import io.gpud.inference.Sampling;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * Time to first token of a long chat with the prefix cache on and off: one engine of each
 * on the same model in this process, the same conversation on both, turn by turn,
 * interleaved (the order alternating per turn) so both see the same machine load. Every turn
 * resends the whole conversation, as a chat client does: the previous turns, the model's
 * replies and a new user message (random token ids; the model needs no tokenizer). Greedy,
 * {@code REPLY} tokens per reply. TTFT is from submit to the first generated token, on the
 * engine (no HTTP, no tokenization). Prints each turn's TTFT on both engines, then, over the
 * repeats (a new conversation each), the median TTFT of the last turn with and without the
 * cache, their ratio and the hit rate (prompt tokens reused over prompt tokens looked up).
 * Both engines must reply the same, token for token; a difference stops the run.
 *
 *   java -cp target/gpud.jar bench/PrefixChatBench.java MODEL.gguf [TURNS] [REPEATS]
 *   -Dthreads=N (2), -Dsystem=TOKENS (24), -Duser=MIN,MAX (8,16), -Dreply=TOKENS (32)
 */
public class PrefixChatBench {
    static final int THREADS = Integer.getInteger("threads", 2);
    static final int SYSTEM = Integer.getInteger("system", 24);
    static final int[] USER = Arrays.stream(System.getProperty("user", "8,16").split(","))
            .mapToInt(Integer::parseInt).toArray();
    static final int REPLY = Integer.getInteger("reply", 32);

    record Turn(long ttftNanos, int[] reply, Completion completion) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: PrefixChatBench MODEL.gguf [TURNS] [REPEATS]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        int turns = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        var cached = EngineConfig.limits(1, 1, REPLY).withThreads(THREADS);
        var uncached = new EngineConfig(cached.queueCapacity(), cached.maxConcurrent(), cached.defaultMaxTokens(),
                cached.threads(), cached.kvCacheBytes(), cached.maxBatchTokens(), cached.backend(), false,
                cached.kvBlockTokens(), cached.simProfile());
        try (Engine on = CpuBackend.load(model, null, "on", cached);
             Engine off = CpuBackend.load(model, null, "off", uncached)) {
            int vocab = on.info().vocabSize();
            int longest = SYSTEM + turns * (USER[1] + REPLY);
            if (longest > on.positionLimit()) {
                throw new IllegalArgumentException(turns + " turns of up to " + (USER[1] + REPLY)
                        + " tokens after a system prompt of " + SYSTEM + " need " + longest
                        + " positions; the model holds " + on.positionLimit() + " (lower -Duser or the turns)");
            }
            System.out.printf("model %s, %d turns (system %d tokens, user %d-%d, reply %d), %d threads, "
                            + "block %d tokens%n", model.getFileName(), turns, SYSTEM, USER[0], USER[1], REPLY,
                    THREADS, cached.kvBlockTokens());
            var lastOn = new double[repeats];
            var lastOff = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                var random = new SplittableRandom(r + 1);
                int[] history = random.ints(SYSTEM, 3, vocab).toArray();
                System.out.printf("conversation %d%n  turn  prompt  cached   TTFT on ms  TTFT off ms%n", r + 1);
                for (int t = 1; t <= turns; t++) {
                    int[] message = random.ints(USER[0] + random.nextInt(USER[1] - USER[0] + 1), 3, vocab).toArray();
                    int[] prompt = concat(history, message);
                    Turn a;
                    Turn b;
                    if (t % 2 == 1) {
                        a = turn(on, prompt);
                        b = turn(off, prompt);
                    } else {
                        b = turn(off, prompt);
                        a = turn(on, prompt);
                    }
                    if (!Arrays.equals(a.reply, b.reply)) {
                        throw new IllegalStateException("turn " + t + ": the replies differ with and without the cache:\n"
                                + Arrays.toString(a.reply) + "\n" + Arrays.toString(b.reply));
                    }
                    System.out.printf("  %4d  %6d  %6d  %11.1f  %11.1f%n", t, prompt.length,
                            a.completion.cachedTokens(), a.ttftNanos / 1e6, b.ttftNanos / 1e6);
                    history = concat(prompt, a.reply);
                    if (t == turns) {
                        lastOn[r] = a.ttftNanos / 1e6;
                        lastOff[r] = b.ttftNanos / 1e6;
                    }
                }
            }
            PrefixCacheView.Stats stats = on.prefixCache().orElseThrow().stats();
            double medianOn = median(lastOn);
            double medianOff = median(lastOff);
            System.out.printf("turn %d TTFT, median of %d: cache on %.1f ms, off %.1f ms: %.1fx faster%n", turns,
                    repeats, medianOn, medianOff, medianOff / medianOn);
            System.out.printf("hit rate: %d of %d prompt tokens (%.1f%%) came from the cache; %d evictions%n",
                    stats.hitTokens(), stats.promptTokens(), 100.0 * stats.hitTokens() / stats.promptTokens(),
                    stats.evictions());
        }
    }

    static Turn turn(Engine engine, int[] prompt) throws Exception {
        var request = new GenerationRequest("turn", prompt, REPLY, Sampling.greedy(), List.of(), true);
        var first = new long[1];
        var tokens = new int[REPLY];
        var count = new int[1];
        var done = new CompletableFuture<Completion>();
        long start = System.nanoTime();
        Admission admission = engine.submit(request, new GenerationListener() {
            @Override
            public void onToken(int token, String text) {
                if (count[0] == 0) {
                    first[0] = System.nanoTime();
                }
                tokens[count[0]++] = token;
            }

            @Override
            public void onDone(Completion completion) {
                done.complete(completion);
            }

            @Override
            public void onFailure(RuntimeException error) {
                done.completeExceptionally(error);
            }
        });
        if (!(admission instanceof Admission.Accepted)) {
            throw new IllegalStateException("the engine did not take a prompt of " + prompt.length + " tokens: "
                    + admission);
        }
        Completion completion = done.get();
        return new Turn(first[0] - start, Arrays.copyOf(tokens, count[0]), completion);
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
