package io.gpud.inference.sim;

import io.gpud.config.EngineConfig;
import io.gpud.core.Time;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Engine;
import io.gpud.inference.EngineScheduler;
import io.gpud.inference.InferenceException;
import io.gpud.inference.LlamaModel;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.PrefixCache;
import io.gpud.inference.PrefixCacheView;
import io.gpud.inference.PrefixHashes;
import io.gpud.inference.Sequence;
import io.gpud.inference.StepBackend;
import io.gpud.inference.Tokenizer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated GPU ({@code engine.backend: sim}): a {@link StepBackend} that computes
 * nothing but takes as long per step as its {@link SimProfile} says a GPU would.
 *
 * <p>Everything else is the real engine's. {@link EngineScheduler} admits, queues, batches
 * and refuses (429) as it does for the CPU and CUDA backends; the KV memory is a
 * {@link PrefixCache} of the profile's KV capacity in {@code engine.kvBlockTokens}-position
 * blocks, so a sequence is admitted only while its prompt and max tokens fit, and a prompt
 * whose prefix an earlier one left reuses it and prefills only the rest; every position a
 * step computes is {@linkplain PrefixCache#written written} so full blocks register and are
 * announced to the cluster. Prompts are the tokens of the model file's own tokenizer and
 * chat template; the replies are made up ({@link SimReplies}).
 *
 * <p>A step feeds the next token of every generating sequence, then prompt chunks while
 * {@code engine.maxBatchTokens} allows (as the CPU backend does), and returns at the step's
 * deadline: its start plus {@link SimProfile#stepNanos}, waited on {@link Time#sleep}. A
 * step that starts up to {@value #CATCH_UP_MILLIS} ms after the previous one's deadline
 * (a sleep that overshot, the sampling between steps) starts at that deadline instead, so a
 * busy host keeps the simulated GPU's rate rather than drifting slower; a longer gap is the
 * GPU idling.
 *
 * <p>Differences from a real engine: {@code engine.kvCacheBytes} is not used (the profile
 * sizes the KV memory); embeddings are refused; memory needs no scrubbing, since no key or
 * value is stored.
 */
public final class SimBackend implements StepBackend<SimBackend.Place> {
    private static final Logger LOG = LoggerFactory.getLogger(SimBackend.class);
    private static final long CATCH_UP_MILLIS = 2;
    private static final long CATCH_UP_NANOS = CATCH_UP_MILLIS * 1_000_000;

    private final SimProfile profile;
    private final EngineConfig config;
    private final Time time;
    private final ModelInfo info;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final SimReplies replies;
    private final PrefixCache cache;

    // one step's plan, by index in the running list; reused
    private final boolean[] generating;
    private final int[] fedFrom;
    private final int[] fedCount;
    private long lastDeadline;
    private boolean stepped;

    /** A sequence's place: its blocks of KV memory, and what its reply is drawn from. */
    record Place(PrefixCache.Table table, long seed) {
    }

    private SimBackend(SimProfile profile, EngineConfig config, Time time, ModelInfo info, Tokenizer tokenizer,
                       ChatTemplate chatTemplate, SimReplies replies) {
        this.profile = profile;
        this.config = config;
        this.time = time;
        this.info = info;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.replies = replies;
        long blocks = profile.kvCapacityTokens() / config.kvBlockTokens();
        this.cache = new PrefixCache((int) Math.min(Integer.MAX_VALUE, blocks), config.kvBlockTokens(),
                PrefixHashes.seed(info), config.prefixCaching(),
                block -> { }); // no keys or values are stored, so none to zero
        this.generating = new boolean[config.maxConcurrent()];
        this.fedFrom = new int[config.maxConcurrent()];
        this.fedCount = new int[config.maxConcurrent()];
    }

    /**
     * Starts an engine on the simulated GPU {@code engine.simProfile} names, with the
     * tokenizer and chat template of {@code modelFile} (loaded as the CPU engine loads it,
     * its weights never run and released at once).
     *
     * @param tokenizerFile a llama2.c tokenizer.bin, or null (see {@link LlamaModel#load})
     * @param servedName    the name clients use, or null for the file name without extension
     * @param time          the clock the steps wait on
     * @throws io.gpud.config.ConfigException when {@code engine.simProfile} names no profile
     */
    public static Engine start(Path modelFile, Path tokenizerFile, String servedName, EngineConfig config, Time time,
                               Consumer<String> quarantineListener) {
        SimProfile profile = SimProfile.named(config.simProfile());
        ModelInfo file;
        Tokenizer tokenizer;
        ChatTemplate template;
        try (LlamaModel model = LlamaModel.load(modelFile, tokenizerFile, servedName)) {
            file = model.info();
            tokenizer = model.tokenizer();
            template = model.chatTemplate();
        }
        var info = new ModelInfo(file.name(), file.format(), file.architecture(), profile.parameters(),
                profile.contextLength(), file.vocabSize(), "sim:" + profile.weightType(), profile.weightBytes(),
                Clock.systemUTC().instant().getEpochSecond(), file.embeddingLength());
        var replies = new SimReplies(tokenizer);
        LOG.info("serving {} on a simulated {} ({}): decode step {} ms at batch 1, prefill {} tokens/s, "
                        + "{} tokens of KV", info.name(), profile.device(), profile.name(),
                String.format("%.1f", profile.decodeStepNanos(1, 1) / 1e6),
                Math.round(profile.prefillTokensPerSecond()), profile.kvCapacityTokens());
        return EngineScheduler.start("gpud-sim-engine-" + info.name(), config, time, quarantineListener,
                () -> new SimBackend(profile, config, time, info, tokenizer, template, replies));
    }

    @Override
    public String device() {
        return "sim " + profile.device() + " (simulated, " + profile.name() + ")";
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public int maxSequences() {
        return config.maxConcurrent();
    }

    @Override
    public int positionLimit() {
        return profile.contextLength();
    }

    @Override
    public Optional<String> neverHolds(int positions) {
        if (cache.blocksFor(positions) <= cache.blocks()) {
            return Optional.empty();
        }
        return Optional.of("the request needs " + positions + " positions of KV cache (prompt and max tokens), the "
                + "simulated " + profile.device() + " (" + profile.name() + ") holds "
                + (long) cache.blocks() * cache.blockTokens());
    }

    @Override
    public Place claim(int[] prompt, long[] names, int positions, PrefixCache.Use use) {
        PrefixCache.Table table = cache.claim(prompt, names, positions, use);
        return table == null ? null : new Place(table, SimReplies.seed(prompt));
    }

    @Override
    public int reusedTokens(Place place) {
        return place.table().reusedTokens();
    }

    @Override
    public Optional<PrefixCacheView> prefixCache() {
        return Optional.of(cache);
    }

    @Override
    public Optional<String> refusesEmbeddings() {
        return Optional.of("the simulated GPU (engine.backend sim) does not compute embeddings");
    }

    /**
     * Plans the step (generating sequences one row each, then prompt chunks while
     * {@code maxBatchTokens} allows), waits until the profile says it is done, then records
     * the positions it computed and hands over the logits of each sequence's next token.
     */
    @Override
    public void step(List<Sequence<Place>> running, StepOutput<Place> out) {
        long start = stepStart();
        int budget = config.maxBatchTokens();
        int decoded = 0;
        long context = 0;
        int prefilled = 0;
        long attended = 0;
        int n = running.size();
        for (int i = 0; i < n; i++) {
            Sequence<Place> sequence = running.get(i);
            generating[i] = sequence.generating();
            if (generating[i]) {
                decoded++;
                context += sequence.position() + 1;
                budget--;
            }
        }
        for (int i = 0; i < n; i++) {
            Sequence<Place> sequence = running.get(i);
            int count = generating[i] ? 0 : Math.min(sequence.promptLeft(), budget);
            fedCount[i] = count;
            if (count > 0) {
                fedFrom[i] = sequence.feed(count);
                budget -= count;
                prefilled += count;
                attended += SimProfile.attended(fedFrom[i], fedFrom[i] + count);
            }
        }
        waitUntil(start + profile.stepNanos(prefilled, attended, decoded, context));

        int slot = 0;
        for (int i = 0; i < n; i++) {
            Sequence<Place> sequence = running.get(i);
            if (generating[i]) {
                int position = sequence.position();
                cache.written(sequence.place().table(), position, sequence.nextToken());
                out.add(sequence, next(slot++, sequence, position));
            }
        }
        for (int i = 0; i < n; i++) {
            Sequence<Place> sequence = running.get(i);
            int[] prompt = sequence.prompt();
            int end = fedFrom[i] + fedCount[i];
            for (int p = fedFrom[i]; p < end; p++) {
                cache.written(sequence.place().table(), p, prompt[p]);
            }
            if (fedCount[i] > 0 && end == prompt.length) {
                out.add(sequence, next(slot++, sequence, end - 1));
            }
        }
    }

    /** Logits that pick the token after {@code position} in {@code sequence}'s reply. */
    private float[] next(int slot, Sequence<Place> sequence, int position) {
        return replies.logits(slot, replies.tokenAfter(sequence.place().seed(), position));
    }

    /** When this step starts: the previous deadline if the host is only a little late for it, else now. */
    private long stepStart() {
        long now = time.nanos();
        long late = now - lastDeadline;
        return stepped && late >= 0 && late <= CATCH_UP_NANOS ? lastDeadline : now;
    }

    private void waitUntil(long deadline) {
        lastDeadline = deadline;
        stepped = true;
        long left = deadline - time.nanos();
        if (left <= 0) {
            return;
        }
        try {
            time.sleep(Duration.ofNanos(left));
        } catch (InterruptedException e) {
            throw new InferenceException("the simulated GPU was interrupted during a step", e);
        }
    }

    /** Nothing on a simulated device breaks: a failed step fails its sequences only. */
    @Override
    public boolean survives(RuntimeException failure) {
        return true;
    }

    @Override
    public Optional<String> release(Place place) {
        cache.release(place.table());
        return Optional.empty();
    }

    @Override
    public Optional<String> close() {
        return Optional.empty();
    }
}
