package io.gpud.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every finding counted by class; the first few of each class written out whole (the
 * input's bytes, escaped and in hex, and what came back) with the command that replays it.
 */
final class Findings {

    private static final int KEPT_PER_CLASS = 5;

    private final Path file;
    private final Map<String, Integer> counts = new TreeMap<>();

    Findings(Path file) throws IOException {
        this.file = file;
        Files.writeString(file, "");
    }

    /**
     * @param kind   the finding's class, e.g. {@code http 500}
     * @param replay the command that sends this input again
     * @param input  the bytes sent
     * @param answer what came back, or a description of the daemon's state
     */
    synchronized void add(String kind, String replay, String what, byte[] input, String answer) {
        int n = counts.merge(kind, 1, Integer::sum);
        if (n > KEPT_PER_CLASS) {
            return;
        }
        var sb = new StringBuilder();
        sb.append("## ").append(kind).append(" (#").append(n).append(")\n");
        sb.append("replay: ").append(replay).append('\n');
        sb.append("what:   ").append(what).append('\n');
        if (input != null) {
            sb.append("input (").append(input.length).append(" bytes, escaped): ")
                    .append(Mutations.escape(input, 2048)).append('\n');
            sb.append("input (hex): ").append(Mutations.hex(input.length > 65536
                    ? java.util.Arrays.copyOf(input, 65536) : input)).append(input.length > 65536 ? "..." : "")
                    .append('\n');
        }
        sb.append("answer: ").append(answer).append("\n\n");
        try {
            Files.writeString(file, sb, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized Map<String, Integer> counts() {
        return new TreeMap<>(counts);
    }

    synchronized int total() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    Path file() {
        return file;
    }
}
