package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.model.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The forward pass over KV memory in blocks, with prefixes reused from the
 * {@link PrefixCache}, gives bit for bit the logits of one contiguous cache per sequence
 * (a single block holding every position: the layout before blocks): conversations that
 * share a system prompt and grow turn by turn run several at a time in one batch, through
 * a pool small enough that cached blocks are evicted and their memory reused. Blocks of 3
 * positions (not a multiple of the four accumulators of the weighted values) and of 16;
 * models with grouped-query attention (stories260K, the fixtures) and sliding-window layers
 * (Gemma 3: attention that starts mid-block).
 */
class PagedAttentionTest {
    private static final Path STORIES = Path.of("../shared/models/stories260K.bin");
    private static final int CONVERSATIONS = 4;
    private static final int TURNS = 3;

    @TempDir
    static Path dir;

    static Stream<Arguments> modelsBlocksAndSeeds() {
        var cases = new ArrayList<Arguments>();
        for (String model : List.of("stories260K", "llama", "qwen3", "gemma3")) {
            for (int blockTokens : new int[] {3, 16}) {
                for (long seed : new long[] {1, 2, 3}) {
                    cases.add(Arguments.of(model, blockTokens, seed));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, blocks of {1}, seed {2}")
    @MethodSource("modelsBlocksAndSeeds")
    void reusedAndBatchedBlocksGiveTheLogitsOfAContiguousCache(String model, int blockTokens, long seed) {
        try (LoadedModel loaded = load(model)) {
            Llama llama = loaded.llama();
            int vocab = llama.config().vocabSize();
            var random = new SplittableRandom(seed);
            // three turns fit the context: 32 positions for the fixtures
            boolean small = llama.config().contextLength() < 128;
            int generated = small ? 3 : 6;
            int suffix = small ? 4 : 11;
            int[] system = small ? tokens(random, 5 + random.nextInt(4), vocab) : tokens(random, 8 + random.nextInt(12), vocab);
            var conversations = new ArrayList<int[]>();
            for (int c = 0; c < CONVERSATIONS; c++) {
                conversations.add(system);
            }
            int longest = system.length + TURNS * (generated + suffix);
            // room for two sequences at a time and a cached block: later turns evict earlier ones
            int blocks = 2 * ((longest + blockTokens - 1) / blockTokens) + 1;
            var cache = new PrefixCache(blocks, blockTokens, PrefixHashes.seed(loaded.info()), true, b -> { });
            try (var threads = new Parallel(1); Llama.KvBlocks memory = llama.new KvBlocks(blocks, blockTokens)) {
                var batch = new Batch(llama, memory, cache, threads, longest, generated);
                for (int turn = 0; turn < TURNS; turn++) {
                    var waiting = new ArrayDeque<Turn>();
                    for (int c = 0; c < CONVERSATIONS; c++) {
                        int[] prompt = concat(conversations.get(c), tokens(random, suffix / 3 + 1
                                + random.nextInt(suffix - suffix / 3), vocab));
                        waiting.add(new Turn(c, prompt, Reference.run(llama, prompt, generated)));
                    }
                    for (Turn done : batch.runAll(waiting)) {
                        conversations.set(done.conversation, concat(done.prompt, done.reference.generated));
                    }
                }
                PrefixCacheView.Stats stats = cache.stats();
                assertTrue(stats.hitTokens() > 0, "no prefix was reused: " + stats);
                assertTrue(stats.evictions() > 0, "no block was evicted: " + stats);
                assertTrue(batch.widest > 1, "no two sequences ran in one step");
            }
        }
    }

    private static LoadedModel load(String model) {
        if (model.equals("stories260K")) {
            Assumptions.assumeTrue(Files.exists(STORIES),
                    "skipped: " + STORIES.toAbsolutePath().normalize() + " is absent (the llama2.c stories260K model)");
            return LlamaLoader.load(STORIES, null, "stories260K", 0);
        }
        Path file = dir.resolve(model + ".gguf");
        if (!Files.exists(file)) {
            ArchitectureFixture.writeGguf(file, ArchitectureFixture.Spec.of(model), GgmlType.F32, 11);
        }
        return LlamaLoader.load(file, null, model, 0);
    }

    private static int[] tokens(SplittableRandom random, int count, int vocab) {
        return random.ints(count, 1, vocab).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** One turn of a conversation: its prompt and what a contiguous cache computes for it. */
    private record Turn(int conversation, int[] prompt, Reference reference) {
    }

    /** The logits of a sequence run alone, row by row, in one contiguous block; greedy tokens. */
    private record Reference(float[][] logits, int[] generated) {
        static Reference run(Llama llama, int[] prompt, int count) {
            int capacity = prompt.length + count;
            var logits = new float[count][];
            int[] generated = new int[count];
            var ws = llama.new Workspace(1, 1, Parallel.single());
            try (Llama.KvCache cache = llama.new KvCache(capacity, capacity)) {
                var caches = new Llama.KvCache[] {cache};
                int token = prompt[0];
                for (int pos = 0; pos < capacity - 1; pos++) {
                    token = pos < prompt.length ? prompt[pos] : token;
                    boolean wants = pos >= prompt.length - 1;
                    llama.forward(ws, 1, new int[] {token}, new int[] {pos}, caches, new int[] {0}, wants ? 1 : 0);
                    if (wants) {
                        int i = pos - (prompt.length - 1);
                        logits[i] = ws.logits[0].clone();
                        token = argmax(logits[i]);
                        generated[i] = token;
                    }
                }
            }
            return new Reference(logits, generated);
        }
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            best = values[i] > values[best] ? i : best;
        }
        return best;
    }

    /** Runs turns two at a time in one batch, each claiming its blocks from the prefix cache. */
    private static final class Batch {
        private static final int AT_ONCE = 2;
        private final Llama llama;
        private final Llama.KvBlocks memory;
        private final PrefixCache cache;
        private final Llama.Workspace ws;
        private final int generated;
        int widest;

        Batch(Llama llama, Llama.KvBlocks memory, PrefixCache cache, Parallel threads, int longest, int generated) {
            this.llama = llama;
            this.generated = generated;
            this.memory = memory;
            this.cache = cache;
            this.ws = llama.new Workspace(AT_ONCE * longest, AT_ONCE, threads);
        }

        /** A running turn: its blocks and how far it got. */
        private static final class Running {
            final Turn turn;
            final Llama.KvCache kv;
            int next;      // position of the next row
            int generated; // logits compared so far

            Running(Turn turn, Llama.KvCache kv) {
                this.turn = turn;
                this.kv = kv;
                this.next = kv.table.reusedTokens();
            }

            int token(int position) {
                return position < turn.prompt.length ? turn.prompt[position]
                        : turn.reference.generated[position - turn.prompt.length];
            }
        }

        List<Turn> runAll(ArrayDeque<Turn> waiting) {
            var done = new ArrayList<Turn>();
            var running = new ArrayList<Running>();
            while (!waiting.isEmpty() || !running.isEmpty()) {
                while (!waiting.isEmpty() && running.size() < AT_ONCE) {
                    Turn turn = waiting.peek();
                    int positions = turn.prompt.length + generated - 1;
                    PrefixCache.Table table = cache.claim(turn.prompt, null, positions, PrefixCache.Use.SHARED);
                    if (table == null) {
                        break;
                    }
                    waiting.poll();
                    running.add(new Running(turn, llama.new KvCache(memory, table, positions)));
                }
                assertTrue(!running.isEmpty(), "nothing fits an empty pool");
                step(running);
                for (Running r : List.copyOf(running)) {
                    if (r.generated == generated) {
                        cache.release(r.kv.table);
                        running.remove(r);
                        done.add(r.turn);
                    }
                }
            }
            return done;
        }

        /** One forward pass: the rest of each prompt, or each generating turn's next token. */
        private void step(List<Running> running) {
            int rows = 0;
            int logitCount = 0;
            int[] tokens = new int[ws.rows()];
            int[] positions = new int[ws.rows()];
            var caches = new Llama.KvCache[ws.rows()];
            int[] logitRows = new int[running.size()];
            var logitOwners = new Running[running.size()];
            for (Running r : running) {
                int until = Math.max(r.next + 1, r.turn.prompt.length);
                for (int p = r.next; p < until; p++) {
                    tokens[rows] = r.token(p);
                    positions[rows] = p;
                    caches[rows] = r.kv;
                    rows++;
                }
                r.next = until;
                logitRows[logitCount] = rows - 1;
                logitOwners[logitCount++] = r;
            }
            widest = Math.max(widest, running.size());
            llama.forward(ws, rows, tokens, positions, caches, logitRows, logitCount);
            for (int i = 0; i < rows; i++) {
                cache.written(caches[i].table, positions[i], tokens[i]);
            }
            for (int j = 0; j < logitCount; j++) {
                Running r = logitOwners[j];
                float[] expected = r.turn.reference.logits[r.generated];
                assertNotNull(expected);
                assertArrayEquals(expected, ws.logits[j], "turn of conversation " + r.turn.conversation
                        + ", generated token " + r.generated + ", reused " + r.kv.table.reusedTokens() + ", prompt "
                        + r.turn.prompt.length + ", blocks " + Arrays.toString(r.kv.table.blocks()) + ", rows " + rows
                        + ", positions " + Arrays.toString(Arrays.copyOf(positions, rows)));
                assertEquals(r.turn.reference.generated[r.generated], argmax(ws.logits[j]));
                r.generated++;
            }
        }
    }
}
