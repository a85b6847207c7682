package io.gpud.inference;

import java.nio.file.Path;
import java.time.Clock;

/**
 * The CPU forward pass for differential tests of other backends: logits step by step along
 * a given token sequence.
 */
public final class CpuReference {
    private CpuReference() {
    }

    /**
     * Runs {@code tokens} one position at a time on the CPU engine's forward pass; row t is
     * the logits after {@code tokens[0..t]}.
     */
    public static float[][] logitsAlong(Path modelFile, int[] tokens) {
        try (LoadedModel model = LlamaLoader.load(modelFile, null, "reference", Clock.systemUTC().instant().getEpochSecond());
             Llama.State state = model.llama().newState(model.llama().config().contextLength())) {
            float[][] out = new float[tokens.length][];
            for (int t = 0; t < tokens.length; t++) {
                out[t] = model.llama().forward(state, tokens[t], t).clone();
            }
            return out;
        }
    }
}
