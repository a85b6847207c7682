package io.gpud.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ScaleCommandTest {

    private record Result(int exitCode, String out, String err) {
    }

    private static Result scale(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cli = new CommandLine(new ScaleCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("gpud: " + e.getMessage());
            return 1;
        });
        int exitCode = cli.execute(args);
        return new Result(exitCode, out.toString(), err.toString());
    }

    @Test
    void simulatePrintsOneLinePerDecision() {
        Result r = scale("simulate", "--trace", "bench/traces/decay.csv", "--pool", "model-a");
        assertEquals(0, r.exitCode(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.size() >= 2, r.out());
        assertTrue(lines.getFirst().matches("180 20 up: above 1\\.50 for 120s: .*"), lines.getFirst());
        for (String line : lines) {
            assertTrue(line.matches("\\d+ \\d+ (up|down): .+"), line);
            int desired = Integer.parseInt(line.split(" ")[1]);
            assertTrue(desired >= 2 && desired <= 20, line);
        }
        assertTrue(lines.getLast().startsWith("8410 2 down"), lines.getLast());
    }

    @Test
    void minMaxOverridesAndLaunchDelay() {
        Result r = scale("simulate", "--trace", "bench/traces/decay.csv", "--pool", "model-a", "--min", "3", "--max",
                "8", "--launch-delay", "3m");
        assertEquals(0, r.exitCode(), r.err());
        for (String line : r.out().lines().toList()) {
            int desired = Integer.parseInt(line.split(" ")[1]);
            assertTrue(desired >= 3 && desired <= 8, line);
        }
        assertTrue(r.out().startsWith("180 8 up"), r.out());
    }

    @Test
    void badArgumentsAreClearErrors(@TempDir Path dir) throws Exception {
        Result r = scale("simulate", "--trace", "bench/traces/steady.csv", "--pool", "model-z");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("unknown pool 'model-z'"), r.err());
        r = scale("simulate", "--trace", dir.resolve("none.csv").toString(), "--pool", "model-a");
        assertTrue(r.err().contains("no such file"), r.err());
        r = scale("simulate", "--trace", "bench/traces/steady.csv", "--pool", "model-a", "--launch-delay", "soon");
        assertTrue(r.err().contains("--launch-delay was 'soon'"), r.err());
        r = scale("simulate", "--trace", "bench/traces/steady.csv", "--pool", "model-a", "--min", "5", "--max", "2");
        assertTrue(r.err().contains("scaling.pools.model-a.max was 2"), r.err());
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "t_seconds,rps\n0,1\n10,abc\n");
        r = scale("simulate", "--trace", bad.toString(), "--pool", "model-a");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("bad.csv:3: '10,abc' must be an integer t_seconds and a number rps"), r.err());
    }
}
