package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.config.EngineConfig;
import io.gpud.model.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU engine with its prefix cache on gives the greedy output of the engine with it
 * off: the same ids and the same log-probabilities, bit for bit, for conversations that
 * share a system prompt and come back turn after turn, several at once (continuous
 * batching), in a KV budget small enough that cached blocks are evicted. A request reports
 * the prompt tokens it reused. A secure-envelope request neither reuses nor leaves blocks,
 * and its memory reads back zero once it ends.
 */
class PrefixCachingTest {
    private static final Path STORIES = Path.of("../shared/models/stories260K.bin");
    private static final int USERS = 4;
    private static final int TURNS = 3;
    private static final int TOP = 3;

    @TempDir
    static Path dir;

    static Stream<Arguments> modelsAndSeeds() {
        return Stream.of("stories260K", "gemma3").flatMap(model -> Stream.of(1L, 2L, 3L)
                .map(seed -> Arguments.of(model, seed)));
    }

    @ParameterizedTest(name = "{0}, seed {1}")
    @MethodSource("modelsAndSeeds")
    void greedyOutputIsTheSameWithAndWithoutTheCache(String model, long seed) {
        Path file = modelFile(model);
        Shape shape = Shape.of(file);
        int[][][] waves = conversations(shape, seed);
        List<Result> without = serve(file, shape, waves, false, null);
        var stats = new PrefixCacheView.Stats[1];
        List<Result> with = serve(file, shape, waves, true, stats);
        int reused = 0;
        for (int i = 0; i < without.size(); i++) {
            assertArrayEquals(without.get(i).tokens, with.get(i).tokens, "request " + i + " ids");
            assertArrayEquals(without.get(i).logprobBits, with.get(i).logprobBits, "request " + i + " log-probabilities");
            assertEquals(0, without.get(i).completion.cachedTokens(), "request " + i + " without the cache");
            reused += with.get(i).completion.cachedTokens();
        }
        assertEquals(stats[0].hitTokens(), reused, "the requests' cached tokens add up to the cache's hits");
        assertTrue(stats[0].hitTokens() > 0, "no prefix was reused: " + stats[0]);
        assertTrue(stats[0].evictions() > 0, "no block was evicted: " + stats[0]);
    }

    @Test
    void aSecureRequestNeitherReusesNorLeavesBlocks() {
        Path file = modelFile("stories260K");
        int[] prompt = new SplittableRandom(5).ints(50, 1, 512).toArray();
        var config = new EngineConfig(4, 2, 16, 1, 1L << 24, 64, EngineConfig.Backend.CPU, true, 16, EngineConfig.DEFAULT_SIM_PROFILE);
        try (Engine engine = CpuBackend.load(file, null, "m", config)) {
            PrefixCacheView cache = engine.prefixCache().orElseThrow();

            assertEquals(0, generate(engine, prompt, true).completion.cachedTokens());
            assertEquals(new PrefixCacheView.Stats(0, 0, 0, 0, 0, 0, cache.stats().blocks()), cache.stats(),
                    "a secure request looked up or left blocks");

            assertEquals(0, generate(engine, prompt, false).completion.cachedTokens(), "a secure request left blocks");
            PrefixCacheView.Stats shared = cache.stats();
            assertEquals(3, shared.blocksCached(), "the shared request's whole blocks stay cached");

            assertEquals(0, generate(engine, prompt, true).completion.cachedTokens(), "a secure request reused blocks");
            assertEquals(shared, cache.stats(), "a secure request looked up, reused or left blocks");

            assertEquals(48, generate(engine, prompt, false).completion.cachedTokens(),
                    "a shared request reuses what the first one left");
        }
    }

    @Test
    void aPrivateSequencesBlocksReadBackZeroOnceReleasedAndASharedOnesStayCached() {
        Path file = modelFile("stories260K");
        int[] prompt = new SplittableRandom(6).ints(40, 1, 512).toArray();
        var config = new EngineConfig(4, 2, 16, 1, 1L << 24, 64, EngineConfig.Backend.CPU, true, 16, EngineConfig.DEFAULT_SIM_PROFILE);
        var backend = new CpuBackend(LlamaLoader.load(file, null, "m", 0), config);
        try {
            int[] privateBlocks = prefill(backend, prompt, true);
            for (int b : privateBlocks) {
                assertTrue(backend.memory().isZero(b), "block " + b + " of a secure request was not zeroed");
            }
            int[] sharedBlocks = prefill(backend, prompt, false);
            for (int i = 0; i < 2; i++) {
                assertFalse(backend.memory().isZero(sharedBlocks[i]), "cached block " + sharedBlocks[i] + " was zeroed");
            }
        } finally {
            backend.close();
        }
    }

    /** A 1 GiB budget costs nothing until it is used, then a slab (at most 16 MiB) at a time. */
    @Test
    void theKvMemoryIsAllocatedAsItIsUsedNotUpFront() {
        Path file = modelFile("stories260K");
        var config = new EngineConfig(4, 2, 16, 1, 1L << 30, 64, EngineConfig.Backend.CPU, true, 16,
                EngineConfig.DEFAULT_SIM_PROFILE);
        var backend = new CpuBackend(LlamaLoader.load(file, null, "m", 0), config);
        try {
            assertEquals(0, backend.memory().bytesAllocated(), "KV memory allocated before any request");
            prefill(backend, new SplittableRandom(7).ints(40, 1, 512).toArray(), false);
            long allocated = backend.memory().bytesAllocated();
            assertTrue(allocated > 0 && allocated <= 16 << 20, allocated + " bytes allocated for one short prompt");
        } finally {
            backend.close();
        }
    }

    /** Runs {@code prompt} through a sequence of its own on {@code backend} and releases it; its blocks. */
    private static int[] prefill(CpuBackend backend, int[] prompt, boolean isolated) {
        var request = new GenerationRequest("r", prompt, 4, Sampling.greedy(), List.of(), true, Penalties.NONE, -1,
                null, isolated, null);
        var run = new SequenceRun(request, new RecordingListener(), backend.tokenizer(), 0, r -> { });
        int positions = request.cachePositions(backend.positionLimit());
        Llama.KvCache place = backend.claim(prompt, null, positions, run.cacheUse());
        run.start(positions, backend.reusedTokens(place), 1);
        var sequence = new Sequence<>(run, place, backend.reusedTokens(place));
        backend.step(List.of(sequence), new StepBackend.StepOutput<>(1));
        assertEquals(0, sequence.promptLeft());
        int[] blocks = place.table.blocks().clone();
        assertFalse(backend.memory().isZero(blocks[0]), "the prompt left no keys and values in block " + blocks[0]);
        assertTrue(backend.release(place).isEmpty());
        return blocks;
    }

    private static Path modelFile(String model) {
        if (model.equals("stories260K")) {
            Assumptions.assumeTrue(Files.exists(STORIES),
                    "skipped: " + STORIES.toAbsolutePath().normalize() + " is absent (the llama2.c stories260K model)");
            return STORIES;
        }
        Path file = dir.resolve(model + ".gguf");
        if (!Files.exists(file)) {
            ArchitectureFixture.writeGguf(file, ArchitectureFixture.Spec.of(model), GgmlType.F32, 13);
        }
        return file;
    }

    /** How a model's conversations are sized: they fit its context, and a few blocks fit its KV budget. */
    private record Shape(int vocab, int blockTokens, int system, int turn, int maxTokens, long budget) {
        static Shape of(Path file) {
            try (LoadedModel model = LlamaLoader.load(file, null, "m", 0)) {
                Llama llama = model.llama();
                boolean small = llama.config().contextLength() < 128; // the fixture: 32 positions
                int blockTokens = small ? 4 : 16;
                int system = small ? 6 : 24;
                int turn = small ? 3 : 12;
                int maxTokens = small ? 3 : 8;
                int longest = system + TURNS * (turn + maxTokens);
                int blocks = 2 * ((longest + blockTokens - 1) / blockTokens) + 2;
                return new Shape(llama.config().vocabSize(), blockTokens, system, turn, maxTokens,
                        blocks * llama.kvCacheBytes(blockTokens));
            }
        }
    }

    /**
     * {@link #USERS} conversations over one system prompt, {@link #TURNS} waves of one turn
     * each: the system prompt (wave 0's first element for every user), then each turn's new
     * message (random tokens) per user. A turn's prompt is the conversation so far, the
     * replies the engine generated included, and its new message ({@link #serve}).
     */
    private static int[][][] conversations(Shape shape, long seed) {
        var random = new SplittableRandom(seed);
        int[] system = random.ints(shape.system, 1, shape.vocab).toArray();
        int[][][] waves = new int[TURNS + 1][USERS][];
        for (int u = 0; u < USERS; u++) {
            waves[0][u] = system;
            for (int t = 1; t <= TURNS; t++) {
                waves[t][u] = random.ints(shape.turn, 1, shape.vocab).toArray();
            }
        }
        return waves;
    }

    /** Each wave submitted at once, the next when it has ended; the results in order. */
    private static List<Result> serve(Path file, Shape shape, int[][][] waves, boolean caching,
                                      PrefixCacheView.Stats[] stats) {
        var config = new EngineConfig(USERS, USERS, 16, 1, shape.budget, 16, EngineConfig.Backend.CPU, caching,
                shape.blockTokens, EngineConfig.DEFAULT_SIM_PROFILE);
        var results = new ArrayList<Result>();
        try (Engine engine = CpuBackend.load(file, null, "m", config)) {
            int[][] histories = waves[0].clone();
            for (int t = 1; t < waves.length; t++) {
                var listeners = new ArrayList<LogprobListener>();
                var prompts = new ArrayList<int[]>();
                for (int u = 0; u < histories.length; u++) {
                    int[] prompt = concat(histories[u], waves[t][u]);
                    var request = new GenerationRequest("u" + u + "t" + t, prompt, shape.maxTokens,
                            Sampling.greedy(), List.of(), true, Penalties.NONE, TOP, null);
                    var listener = new LogprobListener();
                    assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
                    listeners.add(listener);
                    prompts.add(prompt);
                }
                for (int u = 0; u < listeners.size(); u++) {
                    Result result = listeners.get(u).result();
                    results.add(result);
                    histories[u] = concat(prompts.get(u), result.tokens()); // the reply, as generated, is history
                }
            }
            if (stats != null) {
                stats[0] = engine.prefixCache().orElseThrow().stats();
            }
        }
        return results;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static Result generate(Engine engine, int[] prompt, boolean isolated) {
        var request = new GenerationRequest("r", prompt, 4, Sampling.greedy(), List.of(), true, Penalties.NONE, -1,
                null, isolated, null);
        var listener = new LogprobListener();
        assertInstanceOf(Admission.Accepted.class, engine.submit(request, listener));
        return listener.result();
    }

    /** A generation's ids, the bits of its log-probabilities (each token's, then its top ones), and its end. */
    private record Result(int[] tokens, int[] logprobBits, Completion completion) {
    }

    private static final class LogprobListener extends RecordingListener {
        private final List<Integer> bits = new ArrayList<>();

        @Override
        public synchronized void onToken(int token, String text, TokenLogprobs logprobs) {
            if (logprobs != null) {
                bits.add(Float.floatToRawIntBits(logprobs.logprob()));
                for (int i = 0; i < logprobs.topTokens().length; i++) {
                    bits.add(logprobs.topTokens()[i]);
                    bits.add(Float.floatToRawIntBits(logprobs.topLogprobs()[i]));
                }
            }
            onToken(token, text);
        }

        Result result() {
            Completion completion = await();
            synchronized (this) {
                return new Result(tokenArray(), bits.stream().mapToInt(Integer::intValue).toArray(), completion);
            }
        }
    }
}
