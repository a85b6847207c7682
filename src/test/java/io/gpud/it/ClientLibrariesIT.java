package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The npm client libraries users bring, unchanged, against a demo daemon: {@code openai},
 * {@code ollama}, {@code @langchain/openai} and the AI SDK ({@code ai} with
 * {@code @ai-sdk/openai-compatible}), each for chat, streaming, a tool round trip, structured
 * output and embeddings ({@code src/test/clients/clients.mjs} names every check). Installs them
 * with {@code npm ci} from the committed lock file into {@code target/clients}, again only when
 * the lock file changed; skipped with a message where Node.js 20+ or npm is missing or the npm
 * registry cannot be reached.
 */
class ClientLibrariesIT {

    private static final Path SOURCES = Path.of("src/test/clients");
    private static final Path WORK = Path.of("target/clients");
    /** A copy of the lock file {@code node_modules} was last installed from. */
    private static final Path INSTALLED_LOCK = WORK.resolve("node_modules/.installed-package-lock.json");

    @Test
    void officialClientsWorkUnchanged(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("node") && onPath("npm"), "node and npm are not on PATH: client library check skipped");
        Files.createDirectories(WORK);
        Result version = run(List.of("node", "--version"), 30);
        assumeTrue(nodeMajor(version.output) >= 20,
                "the client libraries need Node.js 20 or newer, found " + version.output.strip() + ": check skipped");
        for (String f : List.of("package.json", "package-lock.json", "clients.mjs")) {
            Files.copy(SOURCES.resolve(f), WORK.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        byte[] lock = Files.readAllBytes(SOURCES.resolve("package-lock.json"));
        if (!Files.exists(INSTALLED_LOCK) || !Arrays.equals(lock, Files.readAllBytes(INSTALLED_LOCK))) {
            Result install = run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), 300);
            assumeTrue(install.exit == 0
                            || !install.output.matches("(?s).*(ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ENETUNREACH).*"),
                    "npm registry unreachable: client library check skipped\n" + install.output);
            assertEquals(0, install.exit, "npm ci failed:\n" + install.output);
            Files.write(INSTALLED_LOCK, lock);
        }
        try (var d = Daemon.start(dir.resolve("data"), "--demo")) {
            Result r = run(List.of("node", "clients.mjs", "http://127.0.0.1:" + d.port, "gpud-demo"), 150);
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

    /** The major version in {@code node --version}'s "v20.11.1", or 0 when it reads otherwise. */
    private static int nodeMajor(String versionOutput) {
        Matcher m = Pattern.compile("v(\\d+)\\.").matcher(versionOutput);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
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
