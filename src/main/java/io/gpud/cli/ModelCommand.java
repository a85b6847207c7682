package io.gpud.cli;

import io.gpud.config.StoreConfig;
import io.gpud.model.LoadOutcome;
import io.gpud.model.Manifest;
import io.gpud.model.ModelStore;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gpud model publish|verify|load}: the model store. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Model store tools.",
        subcommands = {ModelCommand.Publish.class, ModelCommand.Verify.class, ModelLoadCommand.class})
final class ModelCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "a subcommand is required: publish, verify or load");
    }

    /** Writes a version's manifest and moves {@code current} to it. */
    @Command(name = "publish", mixinStandardHelpOptions = true,
            description = "Publish a version directory <root>/<name>/<version>/: write its manifest.json (every "
                    + "file in chunks, each with CRC32C and SHA-256), then point <root>/<name>/current at it.")
    static final class Publish implements Callable<Integer> {
        @Parameters(paramLabel = "DIR", description = "The version directory, holding the model's files.")
        Path dir;

        @Option(names = "--chunk-size", paramLabel = "BYTES",
                description = "Chunk size, e.g. 256MiB (default: store.chunkBytes, 256MiB).")
        String chunkSize;

        @Option(names = "--no-current", description = "Publish without moving the current pointer.")
        boolean noCurrent;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            long chunk = StoreConfig.defaults().chunkBytes();
            if (chunkSize != null) {
                try {
                    chunk = io.gpud.config.ConfigLoader.parseBytes(chunkSize);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                            "--chunk-size was '" + chunkSize + "', must be a size such as 256MiB");
                }
            }
            Manifest m = noCurrent ? ModelStore.publish(dir, chunk) : ModelStore.publishAndSetCurrent(dir, chunk);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("published %s@%s: %s, %d files, %d bytes in %d chunks%s%n", m.name(), m.version(), m.format(),
                    m.files().size(), m.totalBytes(), m.chunkCount(), noCurrent ? "" : "; current -> " + m.version());
            out.flush();
            return 0;
        }
    }

    /** Checks a version directory against its manifest. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check every chunk of a published version against its manifest (CRC32C and SHA-256). "
                    + "Exit code 0 when intact; 1 naming the first bad file, chunk and offset.")
    static final class Verify implements Callable<Integer> {
        @Parameters(paramLabel = "DIR", description = "The version directory.")
        Path dir;

        @Option(names = "--readers", paramLabel = "N", defaultValue = "8",
                description = "Parallel readers (default ${DEFAULT-VALUE}).")
        int readers;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (readers < 1 || readers > 256) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--readers was " + readers + ", must be 1 to 256");
            }
            switch (ModelStore.verify(dir, readers)) {
                case LoadOutcome.Loaded ok -> {
                    PrintWriter out = spec.commandLine().getOut();
                    out.printf("intact: %d bytes verified in %d ms (%.0f MB/s)%n", ok.bytes(), ok.elapsed().toMillis(),
                            ok.bytesPerSecond() / 1e6);
                    out.flush();
                    return 0;
                }
                case LoadOutcome.Failed bad -> {
                    PrintWriter err = spec.commandLine().getErr();
                    err.println("bad: " + bad.describe());
                    err.flush();
                    return 1;
                }
            }
        }
    }
}
