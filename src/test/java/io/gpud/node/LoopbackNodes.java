package io.gpud.node;

import io.gpud.config.ConfigLoader;
import io.gpud.config.GpudConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Configurations of nodes that tests start in-process, on loopback and ports of their own. */
public final class LoopbackNodes {
    private LoopbackNodes() {
    }

    /**
     * A node named {@code name} in us-east-1: HTTP, metrics and gossip on 127.0.0.1 with
     * ports picked at bind, its data in {@code dir/name} and its admin socket at
     * {@code dir/name.sock}, its cluster traffic unauthenticated ({@code gossip.insecure});
     * {@code settings} (dotted keys, as flags give them) come on top.
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
                "node.region", "us-east-1"));
        all.putAll(settings);
        return new ConfigLoader(Map.of(), dir).load(null, all);
    }
}
