package io.gpud.cli;

import io.gpud.audit.AuditLog;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gpud audit verify FILE}: checks an audit log's hash chain. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Audit log tools.",
        subcommands = {AuditCommand.Verify.class})
final class AuditCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: verify");
    }

    /** Walks the chain; exit 0 intact, 1 broken. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify the hash chain of an audit log: detects edited, removed and reordered records. "
                    + "Exit code 0 when intact (also when only an incomplete final record, which a crash or a full "
                    + "disk leaves mid-write, follows the whole ones: it is reported, never counted), 1 when not.")
    static final class Verify implements Callable<Integer> {
        @Parameters(paramLabel = "FILE", description = "The audit log (secure.auditFile; default <dataDir>/audit.log).")
        Path file;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("no audit log at " + file);
            }
            PrintWriter out = spec.commandLine().getOut();
            switch (AuditLog.verify(file)) {
                case AuditLog.Intact(long records, String lastHash, long incompleteTailBytes) -> {
                    out.printf("intact: %d records, last hash %s%n", records, lastHash);
                    if (incompleteTailBytes > 0) {
                        out.printf("with an incomplete final record from an interrupted write (%d bytes after record "
                                + "%d, not counted); the daemon removes it, and records that it did, when it next "
                                + "opens the log%n", incompleteTailBytes, records);
                    }
                    out.flush();
                    return 0;
                }
                case AuditLog.Broken(long line, String reason) -> {
                    PrintWriter err = spec.commandLine().getErr();
                    err.printf("broken at record %d: %s%n", line, reason);
                    err.flush();
                    return 1;
                }
            }
        }
    }
}
