package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official {@code openai} and {@code ollama} npm client libraries, unchanged, against a
 * demo daemon. Installs them with {@code npm ci} from the committed lock file into
 * {@code target/clients}; skipped with a message where Node.js/npm are missing or the npm
 * registry cannot be reached.
 */
class ClientLibrariesIT {

    private static final Path SOURCES = Path.of("src/test/clients");
    private static final Path WORK = Path.of("target/clients");

    @Test
    void officialClientsWorkUnchanged(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("node") && onPath("npm"), "node and npm are not on PATH: client library check skipped");
        Files.createDirectories(WORK);
        for (String f : List.of("package.json", "package-lock.json", "clients.mjs")) {
            Files.copy(SOURCES.resolve(f), WORK.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(WORK.resolve("node_modules/openai")) || !Files.isDirectory(WORK.resolve("node_modules/ollama"))) {
            Result install = run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), 300);
            assumeTrue(install.exit == 0 || !install.output.matches("(?s).*(ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED).*"),
                    "npm registry unreachable: client library check skipped\n" + install.output);
            assertEquals(0, install.exit, "npm ci failed:\n" + install.output);
        }
        try (var d = Daemon.start(dir.resolve("data"), "--demo")) {
            Result r = run(List.of("node", "clients.mjs", "http://127.0.0.1:" + d.port, "gpud-demo"), 180);
            System.out.println(r.output);
            assertEquals(0, r.exit, r.output + "\n--- daemon log ---\n" + d.log());
        }
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> command, int timeoutSeconds) throws Exception {
        Path out = Files.createTempFile("gpud-clients", ".log");
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
