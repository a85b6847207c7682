package io.gpud.node;

import io.gpud.config.ConfigLoader;
import io.gpud.config.GpudConfig;
import io.gpud.membership.Keyring;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;

/** Configurations of nodes that tests start in-process, on loopback and ports of their own. */
public final class LoopbackNodes {
    private LoopbackNodes() {
    }

    /**
     * A node named {@code name} in us-east-1: HTTP, metrics and gossip on 127.0.0.1 with
     * ports picked at bind, its data in {@code dir/name} and its admin socket at
     * {@code dir/name.sock}, gossip sealed with the keyring {@code dir/gossip.keyring} that
     * every node configured in {@code dir} shares, forwards between the nodes in plain HTTP
     * ({@code gossip.insecure}: no peer TLS); {@code settings} (dotted keys, as flags give
     * them) come on top.
     */
    public static GpudConfig config(Path dir, String name, Map<String, String> settings) {
        var all = new HashMap<String, String>(Map.of(
                "api.host", "127.0.0.1",
                "api.port", "0",
                "api.metricsPort", "0",
                "gossip.bindAddress", "127.0.0.1",
                "gossip.port", "0",
                "gossip.insecure", "true",
                "node.dataDir", dir.resolve(name).toString(),
                "node.adminSocket", dir.resolve(name + ".sock").toString(),
                "node.region", "us-east-1",
                "gossip.keyringFile", sharedKeyring(dir).toString()));
        all.putAll(settings);
        return new ConfigLoader(Map.of(), dir).load(null, all);
    }

    /** {@code dir/gossip.keyring}, made with a new random key by the first node configured in {@code dir}. */
    private static Path sharedKeyring(Path dir) {
        Path file = dir.resolve("gossip.keyring");
        try {
            Files.createDirectories(dir);
            Files.writeString(file, Keyring.generateKey(new SecureRandom()) + "\n", StandardOpenOption.CREATE_NEW);
        } catch (FileAlreadyExistsException e) {
            // made for an earlier node of this directory: the same key for all of them
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the test keyring " + file, e);
        }
        return file;
    }
}
