package io.gpud.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place configuration is read: defaults, then the YAML file, then flags.
 *
 * <p>The defaults are the records' own ({@code ApiConfig.defaults()} and so on), written
 * as a tree; the file's tree is laid over it, then the flags, and Jackson binds the result
 * to the records ({@link ConfigJson}), whose constructors check every value. Flags arrive
 * as overrides keyed by the same dotted path as the YAML file ({@code api.port → 8400}),
 * so a setting has one name everywhere. Unknown keys are errors, not silently ignored: a
 * misspelt setting must not fall back to its default. A flag never hides an invalid value
 * in the file: each file value a flag overrides is checked as if the flag were not given.
 * This is also the only class that reads the process environment.
 */
public final class ConfigLoader {

    /** A YAML file above this size is refused; real configs are a few KiB. */
    static final long MAX_FILE_BYTES = 1L << 20;

    /** Mappings whose keys are names, not settings: the file's replaces the default one whole. */
    private static final Set<String> REPLACED_WHOLE = Set.of("scaling.pools");

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
        ObjectNode fromFile = file == null ? JsonNodeFactory.instance.objectNode() : readYaml(file);
        ObjectNode flags = JsonNodeFactory.instance.objectNode();
        overrides.forEach((key, value) -> put(flags, key, value));
        for (String key : overrides.keySet()) {
            if (given(fromFile, key)) {
                checkFileValueUnder(key, fromFile, flags, file);
            }
        }
        try {
            return ConfigJson.bind(tree(fromFile, flags));
        } catch (ConfigException e) {
            boolean inFile = e.setting() != null && given(fromFile, e.setting()) && !given(flags, e.setting());
            throw inFile ? e.in(file) : e;
        }
    }

    /** The admin socket the CLI should talk to when none is given: the daemon's default. */
    public Path defaultAdminSocket() {
        return adminSocketFor(defaultDataDir());
    }

    /**
     * Fails when the file's value of {@code key}, which a flag overrides, is invalid in
     * itself; an error that only the combination with other settings makes is left to the
     * configuration as loaded.
     */
    private void checkFileValueUnder(String key, ObjectNode fromFile, ObjectNode flags, Path file) {
        ObjectNode otherFlags = flags.deepCopy();
        remove(otherFlags, key);
        try {
            ConfigJson.bind(tree(fromFile, otherFlags));
        } catch (ConfigException e) {
            if (e.setting() != null && related(e.setting(), key)) {
                throw e.in(file);
            }
        }
    }

    /** Defaults, then {@code file}, then {@code flags}. */
    private ObjectNode tree(ObjectNode file, ObjectNode flags) {
        Path dataDir = defaultDataDir();
        ObjectNode tree = ConfigJson.MAPPER.valueToTree(new GpudConfig(
                NodeConfig.defaults(dataDir, adminSocketFor(dataDir)), ApiConfig.defaults(), ModelConfig.defaults(),
                EngineConfig.defaults(), LogConfig.defaults(), StateConfig.defaults(), ScalingConfig.defaults(),
                LifecycleConfig.defaults(), SecureConfig.defaults(), GossipConfig.defaults(), StoreConfig.defaults(),
                RoutingConfig.defaults()));
        ((ObjectNode) tree.get("node")).remove("adminSocket");
        merge(tree, file, "");
        merge(tree, flags, "");
        // The admin socket's default lives in the data dir, the configured one if any.
        if (tree.get("node") instanceof ObjectNode node && !node.hasNonNull("adminSocket")
                && node.get("dataDir") != null && node.get("dataDir").isTextual()) {
            try {
                node.put("adminSocket", adminSocketFor(Path.of(node.get("dataDir").asText())).toString());
            } catch (InvalidPathException e) {
                // node.dataDir itself is reported when the tree is bound
            }
        }
        return tree;
    }

    /** Lays {@code over} onto {@code base}: mappings merge key by key, anything else replaces; null changes nothing. */
    private static void merge(ObjectNode base, JsonNode over, String prefix) {
        over.properties().forEach(entry -> {
            String key = entry.getKey();
            JsonNode value = entry.getValue();
            if (value.isNull()) {
                return;
            }
            if (value.isObject() && base.get(key) instanceof ObjectNode inner && !REPLACED_WHOLE.contains(prefix + key)) {
                merge(inner, value, prefix + key + ".");
            } else {
                base.set(key, value.deepCopy());
            }
        });
    }

    /** Whether {@code tree} gives {@code dotted} a value, or gives a value to a key on the way to it. */
    private static boolean given(ObjectNode tree, String dotted) {
        JsonNode at = tree;
        for (String part : dotted.split("\\.")) {
            if (!at.isObject()) {
                return true;
            }
            at = at.get(part);
            if (at == null || at.isNull()) {
                return false;
            }
        }
        return true;
    }

    /** Whether one of the two dotted names is the other or lies under it. */
    private static boolean related(String a, String b) {
        return a.equals(b) || a.startsWith(b + ".") || b.startsWith(a + ".");
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
            JsonNode node = ConfigJson.MAPPER.readTree(Files.readAllBytes(file));
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
            at = at.get(parts[i]) instanceof ObjectNode o ? o : at.putObject(parts[i]);
        }
        at.put(parts[parts.length - 1], value);
    }

    /** Removes {@code dotted} from {@code tree}, and the mappings on the way that it leaves empty. */
    private static void remove(ObjectNode tree, String dotted) {
        int dot = dotted.indexOf('.');
        if (dot < 0) {
            tree.remove(dotted);
        } else if (tree.get(dotted.substring(0, dot)) instanceof ObjectNode inner) {
            remove(inner, dotted.substring(dot + 1));
            if (inner.isEmpty()) {
                tree.remove(dotted.substring(0, dot));
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
