package io.gpud.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place configuration is read: defaults, then the YAML file, then flags.
 *
 * <p>Flags arrive as overrides keyed by the same dotted path as the YAML file
 * ({@code api.port → 8400}), so a setting has one name everywhere. Unknown keys are
 * errors, not silently ignored: a misspelt setting must not fall back to its default.
 * This is also the only class that reads the process environment.
 */
public final class ConfigLoader {

    /** A YAML file above this size is refused; real configs are a few KiB. */
    static final long MAX_FILE_BYTES = 1L << 20;

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final Map<String, String> env;
    private final Path home;

    /** A loader that resolves default paths from {@code env} and {@code home}. */
    public ConfigLoader(Map<String, String> env, Path home) {
        this.env = Map.copyOf(env);
        this.home = home;
    }

    /** A loader over this process's environment. */
    public static ConfigLoader fromEnvironment() {
        return new ConfigLoader(System.getenv(), Path.of(System.getProperty("user.home", "/")));
    }

    /**
     * Loads the configuration.
     *
     * @param file      a YAML file, or null for defaults only
     * @param overrides dotted keys to values, applied last (command-line flags)
     */
    public GpudConfig load(Path file, Map<String, String> overrides) {
        ObjectNode tree = file == null ? JsonNodeFactory.instance.objectNode() : readYaml(file);
        overrides.forEach((key, value) -> put(tree, key, value));
        var root = new Section(tree, "", file);
        var config = new GpudConfig(
                node(root.section("node")),
                api(root.section("api")),
                model(root.section("model")),
                engine(root.section("engine")),
                log(root.section("log")),
                state(root.section("state")),
                scaling(root.section("scaling")),
                lifecycle(root.section("lifecycle")),
                secure(root.section("secure")),
                gossip(root.section("gossip")),
                store(root.section("store")),
                routing(root.section("routing")));
        root.rejectUnknown();
        return config;
    }

    /** The admin socket the CLI should talk to when none is given: the daemon's default. */
    public Path defaultAdminSocket() {
        return adminSocketFor(defaultDataDir());
    }

    private NodeConfig node(Section s) {
        Path dataDir = s.path("dataDir", defaultDataDir());
        return new NodeConfig(
                s.string("id", null),
                s.string("region", "local"),
                dataDir,
                s.path("adminSocket", adminSocketFor(dataDir)),
                s.duration("drainTimeout", Duration.ofSeconds(60)));
    }

    private static ApiConfig api(Section s) {
        ApiConfig d = ApiConfig.defaults();
        return new ApiConfig(
                s.string("host", d.host()),
                s.integer("port", d.port()),
                s.integer("metricsPort", d.metricsPort()),
                s.bytes("maxBodyBytes", d.maxBodyBytes()),
                s.integer("maxJsonDepth", d.maxJsonDepth()),
                s.duration("retryAfter", d.retryAfter()));
    }

    private static ModelConfig model(Section s) {
        return new ModelConfig(
                s.path("path", null),
                s.string("name", null),
                s.path("tokenizer", null),
                s.bool("demo", false));
    }

    private static StoreConfig store(Section s) {
        StoreConfig d = StoreConfig.defaults();
        return new StoreConfig(
                s.path("root", d.root()),
                s.integer("readers", d.readers()),
                s.bytes("chunkBytes", d.chunkBytes()),
                s.bytes("subReadBytes", d.subReadBytes()),
                s.bool("verifySha256", d.verifySha256()),
                s.bytes("maxBytesPerSecond", d.maxBytesPerSecond()),
                s.bool("followCurrent", d.followCurrent()),
                s.duration("followInterval", d.followInterval()),
                s.bytes("reloadMemoryBytes", d.reloadMemoryBytes()));
    }

    private static EngineConfig engine(Section s) {
        EngineConfig d = EngineConfig.defaults();
        return new EngineConfig(
                s.integer("queueCapacity", d.queueCapacity()),
                s.integer("maxConcurrent", d.maxConcurrent()),
                s.integer("defaultMaxTokens", d.defaultMaxTokens()),
                s.integer("threads", d.threads()),
                s.bytes("kvCacheBytes", d.kvCacheBytes()),
                s.integer("maxBatchTokens", d.maxBatchTokens()),
                EngineConfig.Backend.parse(s.string("backend", d.backend().name())));
    }

    private static SecureConfig secure(Section s) {
        SecureConfig d = SecureConfig.defaults();
        String endpoint = s.string("kmsEndpoint", null);
        URI kms;
        try {
            kms = endpoint == null ? null : new URI(endpoint);
        } catch (URISyntaxException e) {
            throw new ConfigException("secure.kmsEndpoint was '" + endpoint + "', not a URI: " + e.getMessage(), e);
        }
        return new SecureConfig(
                s.string("mode", d.mode()),
                s.string("environment", d.environment()),
                s.integer("enclaveCid", d.enclaveCid()),
                s.integer("enclavePort", d.enclavePort()),
                kms,
                s.string("kmsRegion", d.kmsRegion()),
                commaList(s.string("pcr0", "")),
                commaList(s.string("pcr8", "")),
                s.duration("attestationMaxAge", d.attestationMaxAge()),
                s.path("auditFile", null),
                s.integer("localKmsPort", d.localKmsPort()));
    }

    private static java.util.List<String> commaList(String value) {
        return java.util.Arrays.stream(value.split(",")).map(String::strip).filter(v -> !v.isEmpty()).toList();
    }

    private static GossipConfig gossip(Section s) {
        GossipConfig d = GossipConfig.defaults();
        String profile = s.string("profile", d.profile());
        return new GossipConfig(
                s.bool("enabled", d.enabled()),
                s.string("bindAddress", d.bindAddress()),
                s.integer("port", d.port()),
                s.string("advertiseAddress", null),
                s.list("join"),
                s.path("keyringFile", null),
                profile,
                MembershipConfig.profile(profile),
                s.string("availabilityZone", d.availabilityZone()),
                s.string("subnet", d.subnet()),
                s.string("vpc", d.vpc()),
                s.integer("capacity", d.capacity()),
                s.bool("wanEnabled", d.wanEnabled()),
                s.integer("wanPort", d.wanPort()),
                s.list("wanJoin"),
                s.integer("wanBridges", d.wanBridges()));
    }

    private static RoutingConfig routing(Section s) {
        RoutingConfig d = RoutingConfig.defaults();
        return new RoutingConfig(
                s.bool("enabled", d.enabled()),
                s.decimal("weightLoad", d.weightLoad()),
                s.decimal("weightLatency", d.weightLatency()),
                s.decimal("weightAffinity", d.weightAffinity()),
                s.duration("latencyCeiling", d.latencyCeiling()),
                s.duration("staleLoadAfter", d.staleLoadAfter()),
                s.duration("crossRegionPenalty", d.crossRegionPenalty()),
                s.integer("choices", d.choices()),
                s.integer("maxAttempts", d.maxAttempts()),
                s.duration("connectTimeout", d.connectTimeout()),
                s.integer("breakerFailures", d.breakerFailures()),
                s.duration("breakerOpenFor", d.breakerOpenFor()),
                s.bool("proxyProtocol", d.proxyProtocol()),
                s.list("affinity"));
    }

    private static LogConfig log(Section s) {
        LogConfig d = LogConfig.defaults();
        return new LogConfig(s.string("format", d.format()), s.string("level", d.level()));
    }

    private static StateConfig state(Section s) {
        StateConfig d = StateConfig.defaults();
        return new StateConfig(
                s.string("backend", d.backend()),
                s.string("tablePrefix", d.tablePrefix()),
                s.uri("endpoint", d.endpoint()),
                s.duration("leaseDuration", d.leaseDuration()),
                s.duration("leaseRenewEvery", d.leaseRenewEvery()),
                s.duration("nodeTtl", d.nodeTtl()),
                s.duration("reportEvery", d.reportEvery()));
    }

    private static ScalingConfig scaling(Section s) {
        ScalingConfig d = ScalingConfig.defaults();
        Map<String, PoolConfig> pools = d.pools();
        if (s.has("pools")) {
            Section p = s.section("pools");
            pools = new java.util.LinkedHashMap<>();
            for (String name : p.childNames()) {
                Section one = p.section(name);
                pools.put(name, new PoolConfig(name, one.integer("min", 1), one.integer("max", 10),
                        one.string("autoScalingGroup", "gpud-" + name)));
            }
        }
        return new ScalingConfig(
                s.bool("enabled", d.enabled()),
                s.bool("dryRun", d.dryRun()),
                s.string("pool", d.pool()),
                s.duration("window", d.window()),
                s.decimal("targetLow", d.targetLow()),
                s.decimal("targetHigh", d.targetHigh()),
                s.duration("scaleUpAfter", d.scaleUpAfter()),
                s.duration("scaleDownAfter", d.scaleDownAfter()),
                s.integer("queueDepthGuard", d.queueDepthGuard()),
                s.duration("evaluateEvery", d.evaluateEvery()),
                s.uri("endpoint", d.endpoint()),
                pools);
    }

    private static LifecycleConfig lifecycle(Section s) {
        LifecycleConfig d = LifecycleConfig.defaults();
        return new LifecycleConfig(
                s.bool("watch", d.watch()),
                s.uri("imdsEndpoint", d.imdsEndpoint()),
                s.duration("pollEvery", d.pollEvery()),
                s.duration("heartbeatEvery", d.heartbeatEvery()),
                s.string("hookName", d.hookName()),
                s.string("autoScalingGroup", d.autoScalingGroup()));
    }

    /** systemd's {@code StateDirectory}, else {@code $XDG_STATE_HOME/gpud}, else {@code ~/.local/state/gpud}. */
    private Path defaultDataDir() {
        String state = env.get("STATE_DIRECTORY");
        if (state != null && !state.isBlank()) {
            return Path.of(state.split(":")[0]);
        }
        String xdg = env.get("XDG_STATE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "gpud");
        }
        return home.resolve(".local/state/gpud");
    }

    /** systemd's {@code RuntimeDirectory} (/run/gpud) when running as a service, else the data dir. */
    private Path adminSocketFor(Path dataDir) {
        String runtime = env.get("RUNTIME_DIRECTORY");
        if (runtime != null && !runtime.isBlank()) {
            return Path.of(runtime.split(":")[0], "admin.sock");
        }
        return dataDir.resolve("admin.sock");
    }

    private static ObjectNode readYaml(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ConfigException("config file " + file + " is " + size + " bytes, more than the "
                        + MAX_FILE_BYTES + " allowed");
            }
            JsonNode node = YAML.readTree(Files.readAllBytes(file));
            if (node == null || node.isMissingNode() || node.isNull()) {
                return JsonNodeFactory.instance.objectNode();
            }
            if (!(node instanceof ObjectNode object)) {
                throw new ConfigException("config file " + file + " must be a YAML mapping at the top, found "
                        + node.getNodeType().name().toLowerCase(Locale.ROOT));
            }
            return object;
        } catch (JacksonException e) {
            throw new ConfigException("config file " + file + " is not valid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e, e);
        }
    }

    private static void put(ObjectNode tree, String dottedKey, String value) {
        String[] parts = dottedKey.split("\\.");
        ObjectNode at = tree;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = at.get(parts[i]);
            if (child instanceof ObjectNode o) {
                at = o;
            } else {
                at = at.putObject(parts[i]);
            }
        }
        at.put(parts[parts.length - 1], value);
    }

    /** One mapping of the tree; remembers which keys were read so the rest can be reported. */
    private static final class Section {
        private final ObjectNode node;
        private final String prefix;
        private final Path file;
        private final Set<String> known = new LinkedHashSet<>();
        private final Map<String, Section> children = new java.util.LinkedHashMap<>();

        Section(ObjectNode node, String prefix, Path file) {
            this.node = node;
            this.prefix = prefix;
            this.file = file;
        }

        Section section(String name) {
            known.add(name);
            JsonNode child = node.get(name);
            ObjectNode object;
            if (child == null || child.isNull()) {
                object = JsonNodeFactory.instance.objectNode();
            } else if (child instanceof ObjectNode o) {
                object = o;
            } else {
                throw new ConfigException(where() + prefix + name + " must be a mapping, found "
                        + child.getNodeType().name().toLowerCase(Locale.ROOT));
            }
            var s = new Section(object, prefix + name + ".", file);
            children.put(name, s);
            return s;
        }

        boolean has(String name) {
            JsonNode child = node.get(name);
            return child != null && !child.isNull();
        }

        /** The keys of this mapping, each of them a known name. */
        List<String> childNames() {
            var names = new java.util.ArrayList<String>();
            node.fieldNames().forEachRemaining(names::add);
            known.addAll(names);
            return names;
        }

        void rejectUnknown() {
            var names = node.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                if (!known.contains(name)) {
                    throw new ConfigException(where() + "unknown setting '" + prefix + name + "'; known here: "
                            + new TreeSet<>(known));
                }
            }
            children.values().forEach(Section::rejectUnknown);
        }

        private String where() {
            return file == null ? "" : file + ": ";
        }

        private String raw(String key) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isValueNode()) {
                throw new ConfigException(where() + prefix + key + " must be a single value, found "
                        + v.getNodeType().name().toLowerCase(Locale.ROOT));
            }
            return v.asText();
        }

        /** A YAML list of strings, or one comma-separated string (as a flag gives it). */
        java.util.List<String> list(String key) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return java.util.List.of();
            }
            var out = new java.util.ArrayList<String>();
            if (v.isArray()) {
                for (JsonNode item : v) {
                    if (!item.isValueNode()) {
                        throw new ConfigException(where() + prefix + key + " must be a list of strings");
                    }
                    out.add(item.asText().trim());
                }
            } else if (v.isValueNode()) {
                for (String part : v.asText().split(",")) {
                    if (!part.isBlank()) {
                        out.add(part.trim());
                    }
                }
            } else {
                throw new ConfigException(where() + prefix + key + " must be a list of strings");
            }
            return out;
        }

        String string(String key, String fallback) {
            String v = raw(key);
            return v == null ? fallback : v;
        }

        Path path(String key, Path fallback) {
            String v = raw(key);
            return v == null || v.isBlank() ? fallback : Path.of(v);
        }

        int integer(String key, int fallback) {
            String v = raw(key);
            if (v == null) {
                return fallback;
            }
            try {
                return Integer.parseInt(v.trim());
            } catch (NumberFormatException e) {
                throw new ConfigException(where() + prefix + key + " was '" + v + "', must be an integer");
            }
        }

        double decimal(String key, double fallback) {
            String v = raw(key);
            if (v == null) {
                return fallback;
            }
            try {
                double d = Double.parseDouble(v.trim());
                if (!Double.isFinite(d)) {
                    throw new NumberFormatException(v);
                }
                return d;
            } catch (NumberFormatException e) {
                throw new ConfigException(where() + prefix + key + " was '" + v + "', must be a number");
            }
        }

        URI uri(String key, URI fallback) {
            String v = raw(key);
            if (v == null || v.isBlank()) {
                return fallback;
            }
            try {
                URI u = new URI(v.trim());
                if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
                    throw new URISyntaxException(v, "not an http(s) URL with a host");
                }
                return u;
            } catch (URISyntaxException e) {
                throw new ConfigException(where() + prefix + key + " was '" + v
                        + "', must be an http(s) URL such as http://127.0.0.1:8000");
            }
        }

        boolean bool(String key, boolean fallback) {
            String v = raw(key);
            if (v == null) {
                return fallback;
            }
            return switch (v.trim().toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw new ConfigException(where() + prefix + key + " was '" + v + "', must be true or false");
            };
        }

        Duration duration(String key, Duration fallback) {
            String v = raw(key);
            if (v == null) {
                return fallback;
            }
            try {
                return parseDuration(v);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where() + prefix + key + " was '" + v
                        + "', must be a duration such as 500ms, 30s, 5m, 1h or PT30S");
            }
        }

        long bytes(String key, long fallback) {
            String v = raw(key);
            if (v == null) {
                return fallback;
            }
            try {
                return parseBytes(v);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new ConfigException(where() + prefix + key + " was '" + v
                        + "', must be a size such as 1048576, 512KiB, 1MiB or 2GiB");
            }
        }
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(|B|KiB|MiB|GiB|KB|MB|GB)");

    /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, or ISO-8601 ({@code PT30S}). */
    public static Duration parseDuration(String text) {
        String t = text.trim();
        Matcher m = DURATION.matcher(t);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        }
        try {
            return Duration.parse(t);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("not a duration: " + text, e);
        }
    }

    /** {@code 1048576}, {@code 512KiB}, {@code 1MiB}, {@code 2GiB} (KB/MB/GB are decimal). */
    public static long parseBytes(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: " + text);
        }
        long n = Long.parseLong(m.group(1));
        long unit = switch (m.group(2)) {
            case "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            case "GiB" -> 1L << 30;
            case "KB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            default -> 1L;
        };
        return Math.multiplyExact(n, unit);
    }
}
