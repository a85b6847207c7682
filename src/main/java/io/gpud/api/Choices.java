package io.gpud.api;

import io.gpud.inference.Sampling;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The {@code n} choices of one OpenAI request: {@code n} generations admitted together, all
 * or none (a refusal of one cancels those already admitted). Choice {@code i} is sampled
 * with {@code seed + i} when the request names a seed, else with a random seed of its own.
 * They run on the engine at once; the handler reads them one after another. Closing the
 * choices cancels every generation not driven to its end (the client went away, or a
 * choice failed).
 */
final class Choices implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Choices.class);

    private final List<Generations.Started> started;
    private final boolean[] finished;

    private Choices(List<Generations.Started> started) {
        this.started = List.copyOf(started);
        this.finished = new boolean[started.size()];
    }

    /**
     * Admits {@code n} generations of {@code params}.
     *
     * @param seeded whether {@code params}' seed came from the request (else each choice draws its own)
     * @param user   the end user the request names, logged with the generations' ids at DEBUG; may be null
     */
    static Choices start(Generations generations, Generations.Params params, int n, boolean seeded, long startNanos,
                         String user) {
        var started = new ArrayList<Generations.Started>(n);
        try {
            for (int i = 0; i < n; i++) {
                started.add(generations.start(i == 0 ? params : withSeed(params,
                        seeded ? params.sampling().seed() + i : ThreadLocalRandom.current().nextLong()), startNanos));
            }
        } catch (RuntimeException refused) {
            started.forEach(s -> s.generation().cancel());
            throw refused;
        }
        if (user != null) {
            logEndUser(started.stream().map(s -> s.generation().requestId()).toList().toString(), user);
        }
        return new Choices(started);
    }

    /** Logs, at DEBUG, the end user a request named ({@code user}, {@code safety_identifier}) with what it ran. */
    static void logEndUser(String what, String user) {
        LOG.debug("{} for end user '{}'", what, user);
    }

    private static Generations.Params withSeed(Generations.Params p, long seed) {
        Sampling s = p.sampling();
        return new Generations.Params(p.model(), p.prompt(), p.promptParam(), p.maxTokens(),
                new Sampling(s.temperature(), s.topP(), s.topK(), seed), p.stop(), p.penalties(), p.topLogprobs(),
                p.constrain(), p.prefixNames(), p.isolated());
    }

    int size() {
        return started.size();
    }

    Generations.Started get(int i) {
        return started.get(i);
    }

    /** The served model's name. */
    String model() {
        return started.getFirst().model();
    }

    /** Choice {@code i} was driven to its end. */
    void finished(int i) {
        finished[i] = true;
    }

    @Override
    public void close() {
        for (int i = 0; i < started.size(); i++) {
            if (!finished[i]) {
                started.get(i).generation().cancel();
            }
        }
    }
}
