package io.gpud.cli;

import io.gpud.enclave.TenantTool;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gpud tenant seal|open}: the tenant's client for the secure envelope. */
@Command(name = "tenant", mixinStandardHelpOptions = true,
        description = "Tenant tools for the secure envelope (/v1/secure/...).",
        subcommands = {TenantCommand.Seal.class, TenantCommand.Open.class})
final class TenantCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: seal or open");
    }

    /** Encrypts a request under a fresh KMS data key. */
    @Command(name = "seal", mixinStandardHelpOptions = true,
            description = "Encrypt an OpenAI request JSON for /v1/secure/...: calls KMS GenerateDataKey on your key, "
                    + "writes the envelope to --out and the data key to --key-file (keep it: it opens the response).")
    static final class Seal implements Callable<Integer> {
        @Option(names = "--key-arn", required = true, paramLabel = "ARN", description = "Your KMS key.")
        String keyArn;

        @Option(names = "--tenant", required = true, paramLabel = "NAME", description = "Your tenant name.")
        String tenant;

        @Option(names = "--request-id", required = true, paramLabel = "ID",
                description = "A new id for this request; each id is accepted once.")
        String requestId;

        @Option(names = "--in", required = true, paramLabel = "FILE", description = "The request JSON ('-' for stdin).")
        String in;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where the envelope JSON goes.")
        Path out;

        @Option(names = "--key-file", required = true, paramLabel = "FILE",
                description = "Where the data key goes (mode 0600).")
        Path keyFile;

        @Option(names = "--kms-endpoint", paramLabel = "URL",
                description = "KMS endpoint override: a VPC endpoint, or local mode's (printed by gpud run --secure local).")
        URI kmsEndpoint;

        @Option(names = "--region", paramLabel = "R", defaultValue = "us-east-1", description = "KMS region (default ${DEFAULT-VALUE}).")
        String region;

        @Option(names = "--unsigned", description = "Send unsigned KMS requests (local mode's endpoint takes no credentials).")
        boolean unsigned;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--reuse-key", paramLabel = "FILE",
                description = "Seal under the data key of an earlier request's key file (same session, no KMS call; "
                        + "the server then skips KMS too). --key-arn and --tenant must match it.")
        Path reuseKey;

        @Override
        public Integer call() throws IOException {
            byte[] request = in.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(in));
            TenantTool.SealedRequest sealed;
            if (reuseKey != null) {
                try (var session = TenantTool.resumeSession(Files.readAllBytes(reuseKey))) {
                    if (!session.keyArn().equals(keyArn) || !session.tenant().equals(tenant)) {
                        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                                "--reuse-key holds a data key of another key ARN or tenant");
                    }
                    sealed = session.seal(requestId, request);
                }
            } else {
                sealed = TenantTool.seal(kmsEndpoint, region, unsigned, keyArn, tenant, requestId, request);
            }
            Files.deleteIfExists(keyFile);
            Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(keyFile, sealed.keyFileJson());
            Files.write(out, sealed.envelopeJson());
            return 0;
        }
    }

    /** Decrypts a sealed response. */
    @Command(name = "open", mixinStandardHelpOptions = true,
            description = "Decrypt a sealed response with the key file of its request; prints the response JSON.")
    static final class Open implements Callable<Integer> {
        @Option(names = "--key-file", required = true, paramLabel = "FILE", description = "The key file from seal.")
        Path keyFile;

        @Option(names = "--in", required = true, paramLabel = "FILE", description = "The sealed response ('-' for stdin).")
        String in;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            byte[] response = in.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(in));
            byte[] plain = TenantTool.open(Files.readAllBytes(keyFile), response);
            PrintWriter out = spec.commandLine().getOut();
            out.println(new String(plain, java.nio.charset.StandardCharsets.UTF_8));
            out.flush();
            return 0;
        }
    }
}
