package io.gpud.api;

import io.gpud.inference.Admission;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.EmbeddingListener;
import io.gpud.inference.EmbeddingRequest;
import io.gpud.inference.Engine;
import io.gpud.inference.FinishReason;
import io.gpud.inference.Generation;
import io.gpud.inference.GenerationListener;
import io.gpud.inference.GenerationRequest;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.TokenConstraint;
import io.gpud.inference.TokenLogprobs;
import io.gpud.inference.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * A deterministic engine for API tests. Its tokenizer is byte-level (token = byte, 256 =
 * BOS, 257 = EOS); generation i emits the letters a, b, c, … one per token, on its own
 * thread with {@link #tokenDelay} between tokens, until {@code maxTokens} (finish
 * {@code length}) or {@link #stopAfter} tokens (finish {@code stop}), or fails after
 * {@link #failAfter} tokens; or, when {@link #reply} is set, emits that text byte by byte
 * and stops. Under a {@link TokenConstraint} each token is the one it would emit where
 * allowed, else the allowed token of the lowest id, and the end token ends it. A request that asks for log-probabilities gets, for each token, a log-probability
 * of -(i+1)/10 for the i-th token and the alternatives token+1, token+2, … below it. An
 * embedding is the input's length and the sum of its ids, then 1, 0, normalised. Admission
 * can be switched to refuse, and cancellations are recorded.
 */
final class FakeEngine implements Engine {

    static final int BOS = 256;
    static final int EOS = 257;

    private final ModelInfo info;
    volatile Duration tokenDelay = Duration.ZERO;
    volatile int stopAfter = Integer.MAX_VALUE;
    volatile int failAfter = Integer.MAX_VALUE;
    volatile boolean rejecting;
    /** Submissions admitted before every further one is rejected as a full queue. */
    volatile int admitAtMost = Integer.MAX_VALUE;
    volatile String refusing;
    /** ASCII text every generation emits, byte by byte, before it stops; null: the letters a, b, c, … */
    volatile String reply;
    final List<EmbeddingRequest> embedded = new CopyOnWriteArrayList<>();
    /** Embeddings admitted and not finished at most; a further one is rejected as a full queue. */
    volatile int embeddingCapacity = Integer.MAX_VALUE;
    /** After this many embeddings are admitted, the next {@link #rejectedBurst} submissions are rejected as full. */
    volatile int burstAfter = Integer.MAX_VALUE;
    final AtomicInteger rejectedBurst = new AtomicInteger();
    /** An embedding whose tokens hold this id fails at once; -1: none fails. */
    volatile int failEmbeddingsWith = -1;
    /** Embeddings finish once this completes (or they are cancelled); complete by default. */
    volatile CompletableFuture<Void> embeddingGate = CompletableFuture.completedFuture(null);
    final AtomicInteger embeddingsRunning = new AtomicInteger();
    /** The most embeddings admitted and not finished at one time. */
    final AtomicInteger embeddingsPeak = new AtomicInteger();
    final AtomicInteger embeddingsRejected = new AtomicInteger();
    final AtomicInteger embeddingsCancelled = new AtomicInteger();
    /** The chat template; by default "role: content\n" per message, then "assistant: ". */
    volatile ChatTemplate chatTemplate = (conversation, addGenerationPrompt) -> conversation.messages().stream()
            .map(m -> m.role() + ": " + m.content() + "\n")
            .collect(Collectors.joining()) + (addGenerationPrompt ? "assistant: " : "");
    final List<GenerationRequest> submitted = new CopyOnWriteArrayList<>();
    /** The prefix cache it says it keeps: its block names' seed and block size; none by default. */
    volatile io.gpud.inference.PrefixCacheView prefixCache;
    final CountDownLatch cancelled = new CountDownLatch(1);
    private final AtomicInteger inFlight = new AtomicInteger();

    FakeEngine(String name, int contextLength) {
        this.info = new ModelInfo(name, "llama2c", "llama", 260_000, contextLength, 258, "F32", 1_040_000,
                1_700_000_000L, 4);
    }

    /** Positions one sequence holds; below the context where a test plays a device cut into slots. */
    volatile int positionLimit = Integer.MAX_VALUE;

    @Override
    public boolean embeds() {
        return refusing == null;
    }

    @Override
    public int positionLimit() {
        return Math.min(positionLimit, info.contextLength());
    }

    @Override
    public java.util.Optional<io.gpud.inference.PrefixCacheView> prefixCache() {
        return java.util.Optional.ofNullable(prefixCache);
    }

    /** A prefix cache that names blocks of {@code blockTokens} from {@code seed} and holds nothing. */
    static io.gpud.inference.PrefixCacheView namingBlocks(long seed, int blockTokens) {
        return new io.gpud.inference.PrefixCacheView() {
            @Override
            public long seed() {
                return seed;
            }

            @Override
            public int blockTokens() {
                return blockTokens;
            }

            @Override
            public Stats stats() {
                return new Stats(0, 0, 0, 0, 0, 0, 0);
            }

            @Override
            public void drainAnnouncements(java.util.function.LongConsumer held, java.util.function.LongConsumer dropped) {
            }
        };
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public Tokenizer tokenizer() {
        return new Tokenizer() {
            @Override
            public int vocabSize() {
                return 258;
            }

            @Override
            public int[] encode(String text, boolean addBos, boolean parseSpecial) {
                byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
                int offset = addBos ? 1 : 0;
                int[] ids = new int[bytes.length + offset];
                if (addBos) {
                    ids[0] = BOS;
                }
                for (int i = 0; i < bytes.length; i++) {
                    ids[i + offset] = bytes[i] & 0xff;
                }
                return ids;
            }

            @Override
            public int bos() {
                return BOS;
            }

            @Override
            public int eos() {
                return EOS;
            }

            @Override
            public boolean isEndOfGeneration(int token) {
                return token == EOS;
            }

            @Override
            public byte[] tokenBytes(int token) {
                return token < 256 ? new byte[] {(byte) token} : new byte[0];
            }

            @Override
            public String decode(int[] tokens) {
                var out = new StringBuilder();
                for (int t : tokens) {
                    out.append(new String(tokenBytes(t), StandardCharsets.UTF_8));
                }
                return out.toString();
            }
        };
    }

    @Override
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public String device() {
        return "fake";
    }

    @Override
    public Optional<String> quarantineReason() {
        return Optional.empty();
    }

    @Override
    public Admission submit(GenerationRequest request, GenerationListener listener) {
        if (rejecting || submitted.size() >= admitAtMost) {
            return new Admission.Rejected("queue is full (64 of 64)", Duration.ofSeconds(3));
        }
        if (refusing != null) {
            return new Admission.Refused(refusing);
        }
        submitted.add(request);
        inFlight.incrementAndGet();
        var stop = new AtomicBoolean();
        Thread.ofVirtual().name("fake-engine-" + request.requestId()).start(() -> run(request, listener, stop));
        return new Admission.Accepted(new Generation() {
            @Override
            public String requestId() {
                return request.requestId();
            }

            @Override
            public void cancel() {
                stop.set(true);
            }
        });
    }

    private void run(GenerationRequest request, GenerationListener listener, AtomicBoolean stop) {
        int produced = 0;
        FinishReason reason = FinishReason.LENGTH;
        try {
            while (produced < request.maxTokens()) {
                if (stop.get()) {
                    reason = FinishReason.CANCELLED;
                    cancelled.countDown();
                    break;
                }
                if (produced == stopAfter) {
                    reason = FinishReason.STOP;
                    break;
                }
                if (produced == failAfter) {
                    listener.onFailure(new IllegalStateException("the fake engine fails after " + produced + " tokens"));
                    return;
                }
                if (!tokenDelay.isZero()) {
                    Thread.sleep(tokenDelay);
                }
                byte[] script = reply == null ? null : reply.getBytes(StandardCharsets.UTF_8);
                if (script != null && produced == script.length) {
                    reason = FinishReason.STOP;
                    break;
                }
                int token = script != null ? script[produced] & 0xff : 'a' + produced % 26;
                if (request.constraint() != null) {
                    token = constrained(request.constraint(), token);
                    if (token == EOS) {
                        reason = FinishReason.STOP;
                        break;
                    }
                    request.constraint().accept(token);
                }
                String text = script != null && request.constraint() == null
                        ? new String(script, produced, 1, StandardCharsets.US_ASCII) : Character.toString(token);
                listener.onToken(token, text, logprobs(request, token, produced));
                produced++;
            }
        } catch (InterruptedException e) {
            reason = FinishReason.CANCELLED;
        } finally {
            inFlight.decrementAndGet();
        }
        listener.onDone(new Completion(reason, request.promptTokens().length, produced, 1_000, 2_000, 3_000));
    }

    /** The token it would emit when the constraint allows it, else the allowed token of the lowest id. */
    private static int constrained(TokenConstraint constraint, int wanted) {
        if (constraint.allows(wanted)) {
            return wanted;
        }
        for (int t = 0; t <= EOS; t++) {
            if (constraint.allows(t)) {
                return t;
            }
        }
        throw new IllegalStateException("the constraint allows no token");
    }

    private static TokenLogprobs logprobs(GenerationRequest request, int token, int produced) {
        if (request.topLogprobs() < 0) {
            return null;
        }
        int[] top = new int[request.topLogprobs()];
        float[] values = new float[top.length];
        for (int i = 0; i < top.length; i++) {
            top[i] = (token + 1 + i) % 256;
            values[i] = -(produced + 2 + i) / 10f;
        }
        return new TokenLogprobs(token, -(produced + 1) / 10f, top, values);
    }

    /**
     * Embeds on its own thread: the vector is (token count, sum of the token ids, 1, 0),
     * scaled to unit length when the request asks; the request is kept in {@link #embedded}.
     * At most {@link #embeddingCapacity} run at once, and a burst of rejections may be set
     * ({@link #burstAfter}); each waits for {@link #embeddingGate}
     * unless it fails ({@link #failEmbeddingsWith}) or is cancelled (counted, then failed). An
     * embedding leaves the running count before its listener hears, as the engine frees a place.
     */
    @Override
    public Admission embed(EmbeddingRequest request, EmbeddingListener listener) {
        if (rejecting) {
            return new Admission.Rejected("queue is full (64 of 64)", Duration.ofSeconds(3));
        }
        if (refusing != null) {
            return new Admission.Refused(refusing);
        }
        if (embedded.size() >= burstAfter && rejectedBurst.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            embeddingsRejected.incrementAndGet();
            return new Admission.Rejected("queue is full (a burst of other work)", Duration.ofSeconds(3));
        }
        int running;
        do {
            running = embeddingsRunning.get();
            if (running >= embeddingCapacity) {
                embeddingsRejected.incrementAndGet();
                return new Admission.Rejected("queue is full (" + running + " embeddings)", Duration.ofSeconds(3));
            }
        } while (!embeddingsRunning.compareAndSet(running, running + 1));
        embeddingsPeak.accumulateAndGet(running + 1, Math::max);
        embedded.add(request);
        float sum = 0;
        boolean fails = false;
        for (int t : request.tokens()) {
            sum += t;
            fails |= t == failEmbeddingsWith;
        }
        float[] v = {request.tokens().length, sum, 1, 0};
        float norm = request.normalize() ? (float) Math.sqrt(v[0] * v[0] + v[1] * v[1] + 1) : 1;
        for (int i = 0; i < v.length; i++) {
            v[i] /= norm;
        }
        var stop = new CompletableFuture<Void>();
        CompletableFuture<Void> gate = embeddingGate;
        boolean failing = fails;
        Thread.ofVirtual().start(() -> {
            if (!failing) {
                CompletableFuture.anyOf(stop, gate).join();
            }
            embeddingsRunning.decrementAndGet();
            if (failing) {
                listener.onFailure(new IllegalStateException("the fake engine fails embeddings with token "
                        + failEmbeddingsWith));
            } else if (stop.isDone()) {
                embeddingsCancelled.incrementAndGet();
                listener.onFailure(new IllegalStateException("embedding " + request.requestId() + " was cancelled"));
            } else {
                listener.onEmbedding(v);
            }
        });
        return new Admission.Accepted(new Generation() {
            @Override
            public String requestId() {
                return request.requestId();
            }

            @Override
            public void cancel() {
                stop.complete(null);
            }
        });
    }

    /** The prompt of the last admitted request, decoded. */
    String lastPrompt() {
        return tokenizer().decode(submitted.getLast().promptTokens());
    }

    @Override
    public int inFlight() {
        return inFlight.get();
    }

    @Override
    public int queueDepth() {
        return 0;
    }

    @Override
    public void close() {
    }
}
