package io.gpud.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.audit.AuditLog;
import io.gpud.metrics.MetricRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code gpud audit verify}: what it says, and its exit code, for a log as a crash and as tampering leave it. */
class AuditCommandTest {

    @TempDir
    Path dir;

    record Result(int exitCode, String out, String err) {
    }

    static Result verify(Path file) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cli = new CommandLine(new AuditCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exitCode = cli.execute("verify", file.toString());
        return new Result(exitCode, out.toString(), err.toString());
    }

    @Test
    void anInterruptedFinalWriteIsReportedAsSuchAndTamperingAsBroken() throws Exception {
        Path file = dir.resolve("audit.log");
        try (var log = AuditLog.open(file, Clock.systemUTC(), new MetricRegistry())) {
            log.append("secure.start", Map.of("mode", "local"));
            log.append("kms.decrypt", Map.of("requestId", "r-1", "outcome", "ok"));
        }
        var intact = verify(file);
        assertEquals(0, intact.exitCode(), intact.err());
        assertTrue(intact.out().startsWith("intact: 2 records, last hash "), intact.out());

        Files.write(file, "{\"seq\":3,\"time\":\"2026-01-01T00:00".getBytes(), StandardOpenOption.APPEND);
        var torn = verify(file);
        assertEquals(0, torn.exitCode(), torn.err());
        assertTrue(torn.out().contains("intact: 2 records") && torn.out().contains(
                "with an incomplete final record from an interrupted write (33 bytes"), torn.out());

        Files.write(file, "\n".getBytes(), StandardOpenOption.APPEND);
        var broken = verify(file);
        assertEquals(1, broken.exitCode());
        assertTrue(broken.err().contains("broken at record 3: not a JSON record"), broken.err());
    }
}
