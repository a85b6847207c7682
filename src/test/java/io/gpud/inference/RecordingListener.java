package io.gpud.inference;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Collects the events of one generation; {@link #await} waits for the end. */
class RecordingListener implements GenerationListener {
    final List<Integer> tokens = new ArrayList<>();
    final StringBuilder text = new StringBuilder();
    final List<String> pieces = new ArrayList<>();
    final CompletableFuture<Completion> done = new CompletableFuture<>();

    @Override
    public synchronized void onToken(int token, String piece) {
        tokens.add(token);
        pieces.add(piece);
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

    Completion await() {
        try {
            return done.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("generation did not finish: " + e, e);
        }
    }

    /** Waits for the end and returns the failure that ended the generation. */
    Throwable awaitFailure() {
        try {
            Completion completion = done.get(60, TimeUnit.SECONDS);
            throw new AssertionError("the generation completed (" + completion.finishReason() + "), expected a failure");
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("generation did not finish: " + e, e);
        }
    }

    synchronized int[] tokenArray() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    synchronized String text() {
        return text.toString();
    }
}
