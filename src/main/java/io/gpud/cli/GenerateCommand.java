package io.gpud.cli;

import io.gpud.config.EngineConfig;
import io.gpud.core.GpudException;
import io.gpud.inference.Admission;
import io.gpud.inference.Completion;
import io.gpud.inference.CpuBackend;
import io.gpud.inference.Engine;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.Penalties;
import io.gpud.inference.Sampling;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gpud generate}: loads a model in this process (no daemon) and generates from one
 * prompt, printing the text as it streams, or with {@code --print-ids} the generated token
 * ids on one line. Token ids in and out need no tokenizer, so a llama2.c checkpoint alone
 * works. At the end the speeds go to stderr: {@code prompt tok/s: N} (prompt tokens over
 * the time from the first forward step to the first generated token's logits) and
 * {@code achieved tok/s: N} (tokens after the first, over the time since the first: one
 * forward step, greedy or sampled choice and, without {@code --print-ids}, decoding and
 * printing per token). {@code --warmup} first runs the same request once, unmeasured and
 * unprinted, so the rates are those of a compiled engine, as {@code llama-bench} measures
 * after its own warm-up run; it leaves nothing in the prefix cache, so the measured prompt
 * is computed whole. Errors go to stderr as one line with exit code 1.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a model file, without a daemon.")
public final class GenerateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "GGUF file or llama2.c checkpoint (.bin).")
    private Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "llama2.c tokenizer.bin (GGUF files carry their own).")
    private Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text (BOS is added).")
        String text;

        @Option(names = "--prompt-ids", split = ",", paramLabel = "ID",
                description = "Prompt as token ids, e.g. 1,2,3 (used as given).")
        int[] ids;
    }

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256",
            description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    private int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8",
            description = "0 for greedy decoding (default: ${DEFAULT-VALUE}).")
    private float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.9",
            description = "Nucleus sampling threshold, 1 to disable (default: ${DEFAULT-VALUE}).")
    private float topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the sampler (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--ignore-eos", description = "Keep generating past end-of-sequence tokens up to --max-tokens.")
    private boolean ignoreEos;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "Threads that split large matrix products (default: ${DEFAULT-VALUE}).")
    private int threads;

    @Option(names = "--print-ids", description = "Print the generated token ids instead of text.")
    private boolean printIds;

    @Option(names = "--batch-tokens", paramLabel = "N",
            description = "Prompt tokens run in one forward step at most (default: the engine's).")
    private Integer batchTokens;

    @Option(names = "--warmup", description = "Run the same request once first, unmeasured and unprinted.")
    private boolean warmup;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            Sampling sampling = new Sampling(temperature, topP, 0, seed);
            var config = EngineConfig.limits(1, 1, maxTokens).withThreads(threads);
            if (batchTokens != null) {
                config = config.withMaxBatchTokens(batchTokens);
            }
            try (Engine engine = CpuBackend.load(model, tokenizer, null, config)) {
                int[] promptTokens = prompt.ids != null ? prompt.ids : engine.tokenizer().encode(prompt.text, true);
                if (!printIds) {
                    // fail now, before generating, when the model cannot give text
                    engine.tokenizer().tokenBytes(promptTokens[0]);
                }
                var request = new GenerationRequest("generate", promptTokens, maxTokens, sampling, List.of(), ignoreEos);
                if (warmup) {
                    // isolated: it leaves no cached prefix, so the measured run computes its whole prompt
                    var first = new GenerationRequest("warmup", promptTokens, maxTokens, sampling, List.of(), ignoreEos,
                            Penalties.NONE, -1, null, true, null);
                    run(engine, first, new PrintingListener(null, printIds, ignoreEos, engine));
                }
                Completion completion = run(engine, request, new PrintingListener(out, printIds, ignoreEos, engine));
                if (completion.promptTokens() > 0 && completion.promptNanos() > 0) {
                    err.printf("prompt tok/s: %.3f%n", completion.promptTokens() * 1e9 / completion.promptNanos());
                }
                if (completion.completionTokens() > 1 && completion.decodeNanos() > 0) {
                    err.printf("achieved tok/s: %.3f%n",
                            (completion.completionTokens() - 1) * 1e9 / completion.decodeNanos());
                }
                err.flush();
            }
            return 0;
        } catch (GpudException | IllegalArgumentException e) {
            out.flush();
            err.println("gpud generate: " + e.getMessage());
            err.flush();
            return 1;
        }
    }

    private static Completion run(Engine engine, GenerationRequest request, PrintingListener listener) {
        switch (engine.submit(request, listener)) {
            case Admission.Accepted accepted -> { }
            case Admission.Rejected rejected ->
                    throw new GpudException("the engine refused the request: " + rejected.reason());
            case Admission.Refused refused ->
                    throw new GpudException("the engine cannot run the request: " + refused.reason());
        }
        return listener.await();
    }

    /**
     * Streams text to the output, or collects ids and prints them at the end; prints nothing
     * when the output is null (a warm-up run).
     */
    private static final class PrintingListener implements GenerationListener {
        private final PrintWriter out;
        private final boolean printIds;
        private final boolean ignoreEos;
        private final Engine engine;
        private final List<Integer> ids = new ArrayList<>();
        private final CompletableFuture<Completion> done = new CompletableFuture<>();

        PrintingListener(PrintWriter out, boolean printIds, boolean ignoreEos, Engine engine) {
            this.out = out;
            this.printIds = printIds;
            this.ignoreEos = ignoreEos;
            this.engine = engine;
        }

        @Override
        public void onToken(int token, String text) {
            if (printIds) {
                // like llama2.c, the token that ends the generation is not printed
                if (ignoreEos || !engine.tokenizer().isEndOfGeneration(token)) {
                    ids.add(token);
                }
            } else if (out != null) {
                out.print(text);
                out.flush();
            }
        }

        @Override
        public void onDone(Completion completion) {
            done.complete(completion);
        }

        @Override
        public void onFailure(RuntimeException error) {
            done.completeExceptionally(error);
        }

        Completion await() {
            Completion completion;
            try {
                completion = done.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GpudException("interrupted while generating", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException runtime) {
                    throw runtime;
                }
                throw new GpudException("generation failed: " + e.getCause(), e.getCause());
            }
            if (out == null) {
                return completion;
            }
            if (printIds) {
                out.println(String.join(" ", ids.stream().map(String::valueOf).toList()));
            } else {
                out.println();
            }
            out.flush();
            return completion;
        }
    }
}
