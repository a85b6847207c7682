package io.gpud.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    private final ConfigLoader loader = new ConfigLoader(Map.of(), Path.of("/home/op"));

    @Test
    void everyExampleInConfigDirectoryParses() throws IOException {
        List<Path> examples;
        try (Stream<Path> files = Files.list(Path.of("config"))) {
            examples = files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).toList();
        }
        assertFalse(examples.isEmpty(), "config/ has no example files");
        for (Path example : examples) {
            GpudConfig config = loader.load(example, Map.of());
            assertEquals(config, loader.load(example, Map.of()), example.toString());
        }
    }

    @Test
    void theExampleFileListsTheDefaults() {
        assertEquals(loader.load(null, Map.of()), loader.load(Path.of("config/gpud.yaml"), Map.of()));
    }

    @Test
    void theCacheTermIsOffByDefaultAndItsWeightCountsInTheSum() {
        RoutingConfig d = loader.load(null, Map.of()).routing();
        assertEquals(0.0, d.weightCache());
        RoutingConfig on = loader.load(null, Map.of("routing.weightLoad", "0.35", "routing.weightLatency", "0.2",
                "routing.weightAffinity", "0.15", "routing.weightCache", "0.3")).routing();
        assertEquals(d.withCacheAffinity(), on);
        var e = assertThrows(ConfigException.class, () -> loader.load(null, Map.of("routing.weightCache", "0.3")));
        assertTrue(e.getMessage().contains("0.5 + 0.3 + 0.2 + 0.3 = 1.3, must sum to 1"), e.getMessage());
    }

    @Test
    void defaultsWithoutFileOrFlags() {
        GpudConfig c = loader.load(null, Map.of());
        assertEquals("local", c.node().region());
        assertEquals(Path.of("/home/op/.local/state/gpud"), c.node().dataDir());
        assertEquals(Path.of("/home/op/.local/state/gpud/admin.sock"), c.node().adminSocket());
        assertNull(c.node().nodeId());
        assertEquals(8400, c.api().port());
        assertEquals(9400, c.api().metricsPort());
        assertEquals(1L << 20, c.api().maxBodyBytes());
        assertEquals(LogConfig.Format.TEXT, c.log().format());
        assertFalse(c.model().demo());
    }

    @Test
    void systemdDirectoriesDecideTheDefaults() {
        var service = new ConfigLoader(Map.of("STATE_DIRECTORY", "/var/lib/gpud", "RUNTIME_DIRECTORY", "/run/gpud"),
                Path.of("/root"));
        GpudConfig c = service.load(null, Map.of());
        assertEquals(Path.of("/var/lib/gpud"), c.node().dataDir());
        assertEquals(Path.of("/run/gpud/admin.sock"), c.node().adminSocket());
        assertEquals(Path.of("/run/gpud/admin.sock"), service.defaultAdminSocket());
    }

    @Test
    void fileThenFlagsOverrideDefaults(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("gpud.yaml");
        Files.writeString(file, """
                node:
                  region: us-east-1
                  drainTimeout: 90s
                api:
                  port: 9000
                  maxBodyBytes: 2MiB
                """);
        GpudConfig c = loader.load(file, Map.of("api.port", "9100", "model.demo", "true"));
        assertEquals("us-east-1", c.node().region());
        assertEquals(Duration.ofSeconds(90), c.node().drainTimeout());
        assertEquals(9100, c.api().port());
        assertEquals(2L << 20, c.api().maxBodyBytes());
        assertTrue(c.model().demo());
    }

    @Test
    void gossipSectionFromFileAndFlags(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("gpud.yaml");
        Files.writeString(file, """
                gossip:
                  profile: wan
                  join: [10.0.0.1:7946, "seed.internal:7946"]
                  availabilityZone: use1-az1
                """);
        GpudConfig c = loader.load(file, Map.of("gossip.port", "7950"));
        assertEquals(7950, c.gossip().port());
        assertEquals(java.util.List.of("10.0.0.1:7946", "seed.internal:7946"), c.gossip().join());
        assertEquals(MembershipConfig.wan(), c.gossip().timing());
        assertEquals("use1-az1", c.gossip().availabilityZone());

        GpudConfig flags = loader.load(null, Map.of("gossip.join", "a:1,b:2"));
        assertEquals(java.util.List.of("a:1", "b:2"), flags.gossip().join());
        assertEquals(GossipConfig.DEFAULT_PORT, flags.gossip().port());
        assertEquals(MembershipConfig.lan(), flags.gossip().timing());

        assertMessage("gossip.profile was 'moon', must be lan, wan or loopback", Map.of("gossip.profile", "moon"));
        assertMessage("gossip.join entry was 'nohost', must be HOST:PORT", Map.of("gossip.join", "nohost"));
        assertMessage("gossip.port was 99999", Map.of("gossip.port", "99999"));
        var e = assertThrows(ConfigException.class, () -> new MembershipConfig(Duration.ofMillis(100),
                Duration.ofMillis(200), 3, 4, 3, 4, Duration.ofMillis(200), 3, Duration.ofSeconds(30), 8,
                Duration.ofMinutes(1), Duration.ofMillis(250), 1024, 1400));
        assertTrue(e.getMessage().contains("gossip.probeTimeout was PT0.2S, must be shorter"), e.getMessage());
    }

    @Test
    void unauthenticatedGossipIsAskedForExplicitlyAndNeverInProduction() {
        GossipConfig defaults = loader.load(null, Map.of()).gossip();
        assertFalse(defaults.insecure());
        var refused = assertThrows(ConfigException.class, defaults::requireAuthentication);
        assertTrue(refused.getMessage().contains("gossip.keyringFile")
                && refused.getMessage().contains("gossip.insecure"), refused.getMessage());
        loader.load(null, Map.of("gossip.insecure", "true")).gossip().requireAuthentication();
        loader.load(null, Map.of("gossip.keyringFile", "/etc/gpud/gossip.keyring")).gossip().requireAuthentication();
        loader.load(null, Map.of("gossip.enabled", "false")).gossip().requireAuthentication();

        var production = assertThrows(ConfigException.class, () -> loader.load(null,
                Map.of("gossip.insecure", "true", "secure.environment", "production")));
        assertEquals("gossip.insecure was true with secure.environment 'production': cluster traffic without "
                + "authentication never runs in production; set gossip.keyringFile instead", production.getMessage());
    }

    @Test
    void theSimulatedGpuNeverRunsInProduction() {
        EngineConfig sim = loader.load(null, Map.of("engine.backend", "sim", "engine.simProfile",
                "l40s-llama-3.1-8b-int4")).engine();
        assertEquals(EngineConfig.Backend.SIM, sim.backend());
        assertEquals("l40s-llama-3.1-8b-int4", sim.simProfile());
        assertEquals(EngineConfig.DEFAULT_SIM_PROFILE, loader.load(null, Map.of()).engine().simProfile());

        var production = assertThrows(ConfigException.class, () -> loader.load(null,
                Map.of("engine.backend", "sim", "secure.environment", "production", "gossip.keyringFile",
                        "/etc/gpud/gossip.keyring")));
        assertTrue(production.getMessage().startsWith("engine.backend was sim with secure.environment 'production'"),
                production.getMessage());
    }

    @Test
    void aFlagDoesNotHideAnInvalidFileValue(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("gpud.yaml");
        Files.writeString(file, "api:\n  port: eighty\n");
        var e = assertThrows(ConfigException.class, () -> loader.load(file, Map.of("api.port", "9100")));
        assertTrue(e.getMessage().startsWith(file + ": api.port was 'eighty', must be an integer"), e.getMessage());

        Files.writeString(file, "secure:\n  mode: nitrogen\n");
        e = assertThrows(ConfigException.class, () -> loader.load(file, Map.of("secure.mode", "off")));
        assertTrue(e.getMessage().contains("secure.mode was 'nitrogen', must be off, local or nitro"), e.getMessage());

        Files.writeString(file, "api:\n  port: 70000\n");
        e = assertThrows(ConfigException.class, () -> loader.load(file, Map.of("api.port", "9100")));
        assertTrue(e.getMessage().contains("api.port was 70000, must be between 0 and 65535"), e.getMessage());

        Files.writeString(file, "api: 8400\n");
        e = assertThrows(ConfigException.class, () -> loader.load(file, Map.of("api.port", "9100")));
        assertTrue(e.getMessage().contains("api must be a mapping"), e.getMessage());

        Files.writeString(file, "node:\n  region: local\nscaling:\n  enabled: true\napi:\n  port: 9400\n");
        GpudConfig c = loader.load(file, Map.of("node.region", "us-east-1", "api.metricsPort", "9500"));
        assertEquals("us-east-1", c.node().region());
        assertEquals(9400, c.api().port());
    }

    @Test
    void unknownKeyIsNamed(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("gpud.yaml");
        Files.writeString(file, "api:\n  prot: 80\n");
        var e = assertThrows(ConfigException.class, () -> loader.load(file, Map.of()));
        assertTrue(e.getMessage().contains("unknown setting 'api.prot'"), e.getMessage());
        assertTrue(e.getMessage().contains("port"), e.getMessage());
    }

    @Test
    void invalidValuesNameFieldAndValue(@TempDir Path dir) throws IOException {
        assertMessage("api.port was 70000, must be between 0 and 65535", Map.of("api.port", "70000"));
        assertMessage("api.port was 'eighty', must be an integer", Map.of("api.port", "eighty"));
        assertMessage("node.drainTimeout was 'soon'", Map.of("node.drainTimeout", "soon"));
        assertMessage("api.maxBodyBytes was '1 lot'", Map.of("api.maxBodyBytes", "1 lot"));
        assertMessage("log.format was 'xml'", Map.of("log.format", "xml"));
        assertMessage("node.region was 'US East'", Map.of("node.region", "US East"));
        assertMessage("api.port and api.metricsPort were both 9400", Map.of("api.port", "9400"));
        assertMessage("model.demo was 'maybe', must be true or false", Map.of("model.demo", "maybe"));

        Path notYaml = dir.resolve("bad.yaml");
        Files.writeString(notYaml, "api: [1, 2\n");
        var e = assertThrows(ConfigException.class, () -> loader.load(notYaml, Map.of()));
        assertTrue(e.getMessage().contains("is not valid YAML"), e.getMessage());

        Path list = dir.resolve("list.yaml");
        Files.writeString(list, "- a\n- b\n");
        e = assertThrows(ConfigException.class, () -> loader.load(list, Map.of()));
        assertTrue(e.getMessage().contains("must be a YAML mapping"), e.getMessage());

        Path nested = dir.resolve("nested.yaml");
        Files.writeString(nested, "api:\n  port: {a: 1}\n");
        e = assertThrows(ConfigException.class, () -> loader.load(nested, Map.of()));
        assertTrue(e.getMessage().contains("api.port must be a single value"), e.getMessage());

        e = assertThrows(ConfigException.class, () -> loader.load(dir.resolve("missing.yaml"), Map.of()));
        assertTrue(e.getMessage().contains("cannot read config file"), e.getMessage());
    }

    @Test
    void clusterStateScalingAndLifecycle(@TempDir Path dir) throws IOException {
        GpudConfig d = loader.load(null, Map.of());
        assertEquals(StateConfig.Backend.EMBEDDED, d.state().backend());
        assertEquals(Duration.ofSeconds(20), d.state().leaseDuration());
        assertEquals(Duration.ofSeconds(5), d.state().leaseRenewEvery());
        assertEquals(List.of("model-a", "model-b", "model-c"),
                d.scaling().poolList().stream().map(PoolConfig::name).toList());
        assertEquals(20, d.scaling().pools().get("model-a").maxInstances());
        assertEquals(15, d.scaling().pools().get("model-b").maxInstances());
        assertEquals(1, d.scaling().pools().get("model-c").minInstances());
        assertFalse(d.lifecycle().watch());

        Path file = dir.resolve("gpud.yaml");
        Files.writeString(file, """
                node:
                  region: us-east-1
                state:
                  backend: dynamodb
                  endpoint: http://127.0.0.1:8000
                scaling:
                  enabled: true
                  pool: big
                  targetHigh: 2.5
                  pools:
                    big: {min: 3, max: 30, autoScalingGroup: asg-big}
                lifecycle:
                  watch: true
                  autoScalingGroup: asg-big
                """);
        GpudConfig c = loader.load(file, Map.of("scaling.dryRun", "true"));
        assertEquals(StateConfig.Backend.DYNAMODB, c.state().backend());
        assertEquals("http://127.0.0.1:8000", c.state().endpoint().toString());
        assertEquals(Map.of("big", new PoolConfig("big", 3, 30, "asg-big")), c.scaling().pools());
        assertEquals(2.5, c.scaling().targetHigh());
        assertTrue(c.scaling().dryRun());
        assertEquals("asg-big", c.lifecycle().autoScalingGroup());

        assertMessage("state.backend was 'redis'", Map.of("state.backend", "redis"));
        assertMessage("state.backend was dynamodb with node.region 'local'", Map.of("state.backend", "dynamodb"));
        assertMessage("scaling.enabled or lifecycle.watch needs EC2 Auto Scaling, but node.region was 'local'",
                Map.of("scaling.enabled", "true"));
        assertMessage("state.leaseRenewEvery was PT15S, must be at most half of state.leaseDuration (PT20S)",
                Map.of("state.leaseRenewEvery", "15s"));
        assertMessage("scaling.targetHigh was 0.5, must be above scaling.targetLow (1.0)",
                Map.of("scaling.targetHigh", "0.5"));
        assertMessage("scaling.pool was 'model-z', must be one of [model-a, model-b, model-c]",
                Map.of("scaling.pool", "model-z"));
        assertMessage("scaling.pools.model-x.max was 1, must be between 4 and 10000",
                Map.of("scaling.pools.model-x.min", "4", "scaling.pools.model-x.max", "1"));
        assertMessage("lifecycle.autoScalingGroup was missing", Map.of("lifecycle.watch", "true"));
        assertMessage("state.endpoint was 'ftp://x', must be an http(s) URL", Map.of("state.endpoint", "ftp://x"));
        assertMessage("scaling.targetLow was 'NaN', must be a number", Map.of("scaling.targetLow", "NaN"));
        Path unknown = dir.resolve("unknown.yaml");
        Files.writeString(unknown, "scaling:\n  pools:\n    a: {min: 1, max: 2, size: 3}\n");
        var e = assertThrows(ConfigException.class, () -> loader.load(unknown, Map.of()));
        assertTrue(e.getMessage().contains("unknown setting 'scaling.pools.a.size'"), e.getMessage());
    }

    @Test
    void durationsAndSizes() {
        assertEquals(Duration.ofMillis(500), ConfigLoader.parseDuration("500ms"));
        assertEquals(Duration.ofMinutes(5), ConfigLoader.parseDuration("5m"));
        assertEquals(Duration.ofHours(1), ConfigLoader.parseDuration("1h"));
        assertEquals(Duration.ofSeconds(30), ConfigLoader.parseDuration("PT30S"));
        assertEquals(512 * 1024, ConfigLoader.parseBytes("512KiB"));
        assertEquals(3L << 30, ConfigLoader.parseBytes("3GiB"));
        assertEquals(1_000_000, ConfigLoader.parseBytes("1MB"));
        assertEquals(42, ConfigLoader.parseBytes("42"));
        assertThrows(ArithmeticException.class, () -> ConfigLoader.parseBytes("99999999999GiB"));
    }

    private void assertMessage(String expected, Map<String, String> overrides) {
        var e = assertThrows(ConfigException.class, () -> loader.load(null, overrides));
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
