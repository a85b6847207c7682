package io.gpud.cli;

import io.gpud.config.ConfigLoader;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/** How a client command finds the daemon's admin socket. */
final class AdminOptions {

    @Option(names = "--admin-socket", paramLabel = "PATH",
            description = "The daemon's admin socket (default: the daemon's default, or the one in --config).")
    Path adminSocket;

    @Option(names = "--config", paramLabel = "FILE", description = "Read the admin socket path from this config file.")
    Path configFile;

    AdminClient client() {
        return new AdminClient(socket());
    }

    Path socket() {
        if (adminSocket != null) {
            return adminSocket;
        }
        var loader = ConfigLoader.fromEnvironment();
        return configFile != null ? loader.load(configFile, Map.of()).node().adminSocket() : loader.defaultAdminSocket();
    }
}
