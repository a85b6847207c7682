package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.cli.AdminClient;
import io.gpud.inference.DemoModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Five {@code gpud run} processes on loopback, gossiping over real UDP and TCP with an
 * encrypted keyring: join through a seed, {@code kill -9} one and watch the others declare
 * it dead, restart it and watch it come back, then rotate the gossip key on all five with
 * no suspicion raised.
 */
class GossipClusterIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SIZE = 5;
    private final List<Daemon> daemons = new ArrayList<>();
    private Path model;

    @AfterEach
    void stopAll() throws InterruptedException {
        for (Daemon d : daemons) {
            d.close();
        }
    }

    @Test
    void joinDetectRejoinAndRotateKeys(@TempDir Path dir) throws Exception {
        String oldKey = newKey();
        int[] gossipPorts = new int[SIZE];
        Path[] configs = new Path[SIZE];
        for (int i = 0; i < SIZE; i++) {
            gossipPorts[i] = Daemon.freePort();
            Path data = dir.resolve("node" + i);
            Files.createDirectories(data);
            Files.writeString(data.resolve("gossip.keyring"), oldKey + "\n", StandardCharsets.UTF_8);
            configs[i] = data.resolve("gpud.yaml");
            Files.writeString(configs[i], """
                    gossip:
                      bindAddress: 127.0.0.1
                      profile: loopback
                      keyringFile: %s
                      availabilityZone: az-%d
                    """.formatted(data.resolve("gossip.keyring"), i % 2), StandardCharsets.UTF_8);
        }
        model = dir.resolve("demo.gguf");
        DemoModel.write(model, 42);
        String seed = "127.0.0.1:" + gossipPorts[0];
        // Start all five at once; each joins through the first whenever that one is up.
        var starting = new ArrayList<CompletableFuture<Daemon>>();
        for (int i = 0; i < SIZE; i++) {
            int n = i;
            starting.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return start(dir, n, gossipPorts[n], configs[n], seed);
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            }, Executors.newVirtualThreadPerTaskExecutor()));
        }
        CompletionException failed = null;
        for (var f : starting) {
            try {
                daemons.add(f.join());   // every node that came up is stopped after the test
            } catch (CompletionException e) {
                failed = failed == null ? e : failed;
            }
        }
        if (failed != null) {
            throw failed;
        }
        awaitAll(d -> countState(d, "alive") == SIZE, Duration.ofSeconds(30), "all five alive everywhere");

        var status = daemons.get(1).cli("status", "--json");
        assertEquals(0, status.exitCode(), status.stderr());
        JsonNode members = JSON.readTree(status.stdout()).path("members");
        assertEquals(SIZE, members.size(), status.stdout());
        for (JsonNode m : members) {
            assertEquals("alive", m.path("state").asText(), status.stdout());
            assertEquals("local", m.path("region").asText(), status.stdout());
            assertTrue(m.has("incarnation") && m.has("rttMs") && m.has("nodeId"), status.stdout());
        }

        // kill -9 one node: the other four must declare it dead within 10 s.
        Daemon victim = daemons.get(3);
        String victimId = nodeId(victim);
        long before = victimIncarnation(daemons.get(0), victimId);
        long killedAt = System.nanoTime();
        victim.kill();
        List<Daemon> survivors = daemons.stream().filter(d -> d != victim).toList();
        awaitEach(survivors, d -> "dead".equals(stateOf(d, victimId)), Duration.ofSeconds(10), "dead within 10 s");
        long detectedMs = (System.nanoTime() - killedAt) / 1_000_000;
        System.out.println("GossipClusterIT: kill -9 seen dead by all four survivors after " + detectedMs + " ms");

        // Restart it on the same data dir (same node id) and gossip port: alive everywhere again.
        Daemon restarted = start(dir, 3, gossipPorts[3], configs[3], seed);
        daemons.set(3, restarted);
        awaitAll(d -> countState(d, "alive") == SIZE, Duration.ofSeconds(30), "restarted node alive everywhere");
        assertTrue(victimIncarnation(daemons.get(0), victimId) > before, "a rejoin raises the incarnation");

        // Rotate the key on all five: install, use, remove; nobody may be suspected.
        long suspicionsBefore = total(SUSPICIONS);
        long undecryptableBefore = total(UNDECRYPTABLE);
        String newKey = newKey();
        // The first node through the CLI, the others through the same admin call.
        String install = "{\"key\":\"" + newKey + "\"}";
        String remove = "{\"key\":\"" + oldKey + "\"}";
        var r = daemons.getFirst().cli("keyring", "install", newKey);
        assertEquals(0, r.exitCode(), r.stderr());
        for (Daemon d : daemons.subList(1, SIZE)) {
            new AdminClient(d.adminSocket).post("/v1/keyring/install", install);
        }
        r = daemons.getFirst().cli("keyring", "use", newKey);
        assertEquals(0, r.exitCode(), r.stderr());
        for (Daemon d : daemons.subList(1, SIZE)) {
            new AdminClient(d.adminSocket).post("/v1/keyring/use", install);
        }
        r = daemons.getFirst().cli("keyring", "remove", oldKey);
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals(newKey + "  (primary)", r.stdout().strip());
        for (Daemon d : daemons.subList(1, SIZE)) {
            new AdminClient(d.adminSocket).post("/v1/keyring/remove", remove);
            assertEquals(List.of(newKey), List.of(JSON.readTree(new AdminClient(d.adminSocket).get("/v1/keyring"))
                    .path("keys").get(0).asText()));
        }
        // Let every node run a few more probe rounds under the new key only.
        long probes = total(PROBES);
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (total(PROBES) < probes + 5L * SIZE) {
            assertTrue(System.nanoTime() < deadline, "probing stalled after the rotation");
            Thread.sleep(50);
        }
        awaitAll(d -> countState(d, "alive") == SIZE, Duration.ofSeconds(5), "all alive after rotation");
        assertEquals(undecryptableBefore, total(UNDECRYPTABLE), "packets that no key opened during the rotation");
        assertEquals(suspicionsBefore, total(SUSPICIONS), "suspicions raised during the key rotation");
        assertEquals(newKey, Files.readAllLines(dir.resolve("node0/gossip.keyring")).getFirst(),
                "the keyring file keeps the rotation");

        // Rotate again, from one node for the whole cluster: each step gossiped to all five.
        String clusterKey = newKey();
        r = daemons.getFirst().cli("keyring", "install", "--cluster", clusterKey);
        assertEquals(0, r.exitCode(), r.stderr());
        awaitEach(daemons, d -> keysOf(d).contains(clusterKey), Duration.ofSeconds(10), "installed everywhere");
        r = daemons.getFirst().cli("keyring", "use", "--cluster", clusterKey);
        assertEquals(0, r.exitCode(), r.stderr());
        awaitEach(daemons, d -> keysOf(d).getFirst().equals(clusterKey), Duration.ofSeconds(10), "used everywhere");
        r = daemons.getFirst().cli("keyring", "remove", "--cluster", newKey);
        assertEquals(0, r.exitCode(), r.stderr());
        awaitEach(daemons, d -> keysOf(d).equals(List.of(clusterKey)), Duration.ofSeconds(10),
                "the old key removed everywhere");
        probes = total(PROBES);
        deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (total(PROBES) < probes + 5L * SIZE) {
            assertTrue(System.nanoTime() < deadline, "probing stalled after the cluster rotation");
            Thread.sleep(50);
        }
        awaitAll(d -> countState(d, "alive") == SIZE, Duration.ofSeconds(5), "all alive after the cluster rotation");
        assertEquals(undecryptableBefore, total(UNDECRYPTABLE), "packets no key opened in the cluster rotation");
        assertEquals(suspicionsBefore, total(SUSPICIONS), "suspicions raised during the cluster rotation");
        assertEquals(List.of(clusterKey), Files.readAllLines(dir.resolve("node4/gossip.keyring")),
                "every member's keyring file keeps the cluster rotation");
    }

    private static List<String> keysOf(Daemon d) {
        try {
            var out = new java.util.ArrayList<String>();
            JSON.readTree(new AdminClient(d.adminSocket).get("/v1/keyring")).path("keys")
                    .forEach(k -> out.add(k.asText()));
            return out;
        } catch (Exception e) {
            throw new AssertionError("keyring of a daemon unreadable: " + e, e);
        }
    }

    private Daemon start(Path dir, int i, int gossipPort, Path config, String seed) throws Exception {
        return Daemon.start(dir.resolve("node" + i), gossipPort, "--model", model.toString(), "--model-name",
                "gpud-demo", "--config", config.toString(), "--join", seed);
    }

    private static String newKey() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    private static JsonNode status(Daemon d) {
        try {
            return JSON.readTree(new AdminClient(d.adminSocket).get("/v1/status"));
        } catch (Exception e) {
            return JSON.createObjectNode();
        }
    }

    private static String nodeId(Daemon d) {
        return status(d).path("nodeId").asText();
    }

    private static long countState(Daemon d, String state) {
        long n = 0;
        for (JsonNode m : status(d).path("members")) {
            if (state.equals(m.path("state").asText())) {
                n++;
            }
        }
        return n;
    }

    private static String stateOf(Daemon d, String nodeId) {
        for (JsonNode m : status(d).path("members")) {
            if (nodeId.equals(m.path("nodeId").asText())) {
                return m.path("state").asText();
            }
        }
        return "unknown";
    }

    private static long victimIncarnation(Daemon d, String nodeId) {
        for (JsonNode m : status(d).path("members")) {
            if (nodeId.equals(m.path("nodeId").asText())) {
                return m.path("incarnation").asLong();
            }
        }
        return -1;
    }

    private static final Pattern SUSPICIONS = Pattern.compile("(?m)^gpud_gossip_lan_suspicions_total (\\S+)$");

    private static final Pattern PROBES = Pattern.compile("(?m)^gpud_gossip_lan_probes_total (\\S+)$");
    private static final Pattern UNDECRYPTABLE =
            Pattern.compile("(?m)^gpud_gossip_lan_dropped_packets_total\\{reason=\"decrypt\"} (\\S+)$");

    /** A counter summed over all five daemons (0 where it was never incremented). */
    private long total(Pattern counter) throws Exception {
        long total = 0;
        for (Daemon d : daemons) {
            Matcher m = counter.matcher(d.metrics());
            if (m.find()) {
                total += (long) Double.parseDouble(m.group(1));
            }
        }
        return total;
    }

    private void awaitAll(Predicate<Daemon> condition, Duration timeout, String what) throws Exception {
        awaitEach(daemons, condition, timeout, what);
    }

    private static void awaitEach(List<Daemon> nodes, Predicate<Daemon> condition, Duration timeout, String what)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (nodes.stream().allMatch(condition)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                var sb = new StringBuilder("not reached within " + timeout + ": " + what + "\n");
                for (Daemon d : nodes) {
                    sb.append(status(d).path("members")).append('\n');
                }
                sb.append(nodes.getFirst().log());
                throw new AssertionError(sb.toString());
            }
            Thread.sleep(50);
        }
    }
}
