package io.gpud.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code gpud} command line: the daemon and its clients. */
@Command(name = "gpud",
        mixinStandardHelpOptions = true,
        versionProvider = Main.VersionProvider.class,
        description = "Node daemon of a peer-to-peer GPU inference cluster.",
        subcommands = {
            RunCommand.class,
            StatusCommand.class,
            DrainCommand.class,
            RouteCommand.class,
            UndrainCommand.class,
            GenerateCommand.class,
            ScaleCommand.class,
            TenantCommand.class,
            AuditCommand.class,
            KeyringCommand.class,
            ModelCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns its exit code (tests call this instead of main). */
    public static int execute(String... args) {
        var cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("gpud: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"gpud " + (v != null ? v : "dev")};
        }
    }
}
