package io.gpud.model;

import java.time.Duration;
import java.util.List;

/** How a load ended: every chunk verified, or the first failure with where it happened. */
public sealed interface LoadOutcome {

    /**
     * Every byte read and verified.
     *
     * @param bytes          bytes read
     * @param elapsed        wall time of the load
     * @param readerBusy     per reader, the fraction of {@code elapsed} it spent reading,
     *                       checking and handing chunks to the listener (the rest it waited
     *                       for work or a free buffer, or had finished)
     */
    record Loaded(long bytes, Duration elapsed, List<Double> readerBusy) implements LoadOutcome {
        public Loaded {
            readerBusy = List.copyOf(readerBusy);
        }

        /** Average rate in bytes per second. */
        public double bytesPerSecond() {
            return bytes / Math.max(1e-9, elapsed.toNanos() / 1e9);
        }
    }

    /**
     * The load stopped.
     *
     * @param file   the file's path in the manifest
     * @param chunk  the chunk's index in the file
     * @param offset the byte offset in the file where the failure was found (for a
     *               checksum mismatch, the chunk's first byte)
     * @param reason what went wrong, with the numbers
     */
    record Failed(String file, int chunk, long offset, String reason) implements LoadOutcome {
        /** One line naming file, chunk and offset. */
        public String describe() {
            return file + " chunk " + chunk + " at offset " + offset + ": " + reason;
        }
    }
}
