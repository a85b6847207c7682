package io.gpud.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.time.Duration;

/**
 * This node's identity and its local files.
 *
 * @param nodeId       the node's id in the cluster; when not configured, a random id is
 *                     generated once and kept in {@code <dataDir>/node-id}, so it survives
 *                     restarts
 * @param region       the region this node belongs to; {@code local} for a single node
 * @param dataDir      where the node keeps its state (node id, demo model)
 * @param adminSocket  the Unix socket of the admin API (mode 0660). Nothing administrative
 *                     listens on TCP
 * @param drainTimeout how long a drain (SIGTERM, {@code gpud drain --wait}) waits for
 *                     in-flight requests before the node stops anyway. Longer is gentler to
 *                     long generations and slower to stop
 */
public record NodeConfig(@JsonProperty("id") String nodeId, String region, Path dataDir, Path adminSocket,
        Duration drainTimeout) {

    public NodeConfig {
        if (nodeId != null) {
            Validate.notBlank("node.id", nodeId);
            if (!nodeId.matches("[A-Za-z0-9._-]{1,64}")) {
                throw ConfigException.invalid("node.id", "was '" + nodeId
                        + "', must be 1 to 64 letters, digits, '.', '_' or '-'");
            }
        }
        Validate.notBlank("node.region", region);
        if (!region.matches("[a-z0-9-]{1,32}")) {
            throw ConfigException.invalid("node.region", "was '" + region
                    + "', must be 1 to 32 lowercase letters, digits or '-'");
        }
        Validate.notNull("node.dataDir", dataDir);
        Validate.notNull("node.adminSocket", adminSocket);
        int socketPathBytes = adminSocket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (socketPathBytes > 107) {
            throw ConfigException.invalid("node.adminSocket", "'" + adminSocket + "' is " + socketPathBytes
                    + " bytes long; Unix socket paths must be at most 107 bytes");
        }
        Validate.positive("node.drainTimeout", drainTimeout);
    }

    /** No configured id, region {@code local}, these directories, drains wait 60 s. */
    public static NodeConfig defaults(Path dataDir, Path adminSocket) {
        return new NodeConfig(null, "local", dataDir, adminSocket, Duration.ofSeconds(60));
    }
}
