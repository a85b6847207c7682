package io.gpud.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.PropertyBindingException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The mapper between the configuration tree (YAML, flags) and the config records.
 *
 * <p>A scalar setting is read from its text, the same whether YAML or a flag gave it:
 * integers; finite numbers; {@code true}/{@code false} (also yes/no/on/off); durations
 * ({@link ConfigLoader#parseDuration}); byte sizes, which every {@code long} setting is
 * ({@link ConfigLoader#parseBytes}); http(s) URLs and paths, unset when blank; lists of
 * strings, as a YAML list or one comma-separated string. Modes are enums, in any case.
 * A value that cannot be bound is a {@link ConfigException} naming the dotted setting and
 * the value. Defaults go the other way: a record written as a tree reads back as itself.
 */
final class ConfigJson {

    private static final Map<Class<?>, String> EXPECTED = new HashMap<>();

    static final YAMLMapper MAPPER = mapper();

    private ConfigJson() {
    }

    /** The configuration in {@code tree}; a value that cannot be bound is a {@link ConfigException} naming it. */
    static GpudConfig bind(ObjectNode tree) {
        try {
            return MAPPER.treeToValue(tree, GpudConfig.class);
        } catch (JacksonException | IllegalArgumentException e) {
            throw error(e, tree);
        }
    }

    /** The configuration error behind a binding failure, naming the setting and its value. */
    private static ConfigException error(Exception e, JsonNode tree) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConfigException c) {
                return c;
            }
        }
        if (!(e instanceof JsonMappingException m) || m.getPath().isEmpty()) {
            return new ConfigException("configuration cannot be read: " + e.getMessage(), e);
        }
        String setting = String.join(".", m.getPath().stream().map(JsonMappingException.Reference::getFieldName)
                .filter(Objects::nonNull).toList());
        if (e instanceof PropertyBindingException unknown) {
            var known = new TreeSet<String>();
            unknown.getKnownPropertyIds().forEach(id -> known.add(id.toString()));
            return new ConfigException(setting, "unknown setting '" + setting + "'; known here: " + known, e);
        }
        JsonNode value = tree;
        for (JsonMappingException.Reference step : m.getPath()) {
            value = step.getFieldName() != null ? value.path(step.getFieldName()) : value.path(step.getIndex());
        }
        Class<?> type = e instanceof MismatchedInputException mismatch ? mismatch.getTargetType() : null;
        String found = value.getNodeType().name().toLowerCase(Locale.ROOT);
        if (type != null && (type.isRecord() || Map.class.isAssignableFrom(type)) && !value.isObject()) {
            return ConfigException.invalid(setting, "must be a mapping, found " + found);
        }
        if (type != null && List.class.isAssignableFrom(type)) {
            return ConfigException.invalid(setting, "must be a list of strings");
        }
        if (value.isContainerNode()) {
            return ConfigException.invalid(setting, "must be a single value, found " + found);
        }
        return ConfigException.invalid(setting, "was '" + value.asText() + "', must be " + expected(type));
    }

    /** What a value of {@code type} must look like, for an error message: "an integer", "off, local or nitro". */
    private static String expected(Class<?> type) {
        if (type != null && type.isEnum()) {
            List<String> names = Arrays.stream(type.getEnumConstants())
                    .map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT)).toList();
            return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
        }
        return EXPECTED.getOrDefault(type, "a valid value");
    }

    private static YAMLMapper mapper() {
        var module = new SimpleModule("gpud-config");
        scalar(module, Integer.class, int.class, "an integer", text -> Integer.parseInt(text.strip()));
        scalar(module, Long.class, long.class, "a size such as 1048576, 512KiB, 1MiB or 2GiB", ConfigLoader::parseBytes);
        scalar(module, Double.class, double.class, "a number", ConfigJson::finite);
        scalar(module, Boolean.class, boolean.class, "true or false", ConfigJson::bool);
        scalar(module, Duration.class, null, "a duration such as 500ms, 30s, 5m, 1h or PT30S",
                ConfigLoader::parseDuration);
        scalar(module, URI.class, null, "an http(s) URL such as http://127.0.0.1:8000", ConfigJson::httpUrl);
        scalar(module, Path.class, null, "a file path", text -> text.isBlank() ? null : Path.of(text));
        @SuppressWarnings({"unchecked", "rawtypes"})
        Class<List<String>> list = (Class) List.class;
        module.addDeserializer(list, new StringList());
        module.addDeserializer(PoolConfig.class, new PoolReader());
        module.addSerializer(PoolConfig.class, new PoolWriter());
        module.addSerializer(Duration.class, ToStringSerializer.instance);
        module.addSerializer(Path.class, ToStringSerializer.instance);
        YAMLMapper mapper = YAMLMapper.builder()
                .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_IGNORED_PROPERTIES)
                .addModule(module)
                .build();
        mapper.coercionConfigDefaults().setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
        return mapper;
    }

    private static <T> void scalar(SimpleModule module, Class<T> type, Class<T> primitive, String expected,
                                   Function<String, T> parse) {
        var reader = new ScalarReader<>(type, parse);
        module.addDeserializer(type, reader);
        EXPECTED.put(type, expected);
        if (primitive != null) {
            module.addDeserializer(primitive, reader);
        }
    }

    private static double finite(String text) {
        double d = Double.parseDouble(text.strip());
        if (!Double.isFinite(d)) {
            throw new IllegalArgumentException("not a finite number: " + text);
        }
        return d;
    }

    private static boolean bool(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("not true or false: " + text);
        };
    }

    private static URI httpUrl(String text) {
        if (text.isBlank()) {
            return null;
        }
        try {
            URI u = new URI(text.strip());
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
                throw new IllegalArgumentException("not an http(s) URL with a host: " + text);
            }
            return u;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** One scalar type read from its text; text the parser refuses is an invalid value of that type. */
    private static final class ScalarReader<T> extends StdScalarDeserializer<T> {
        private final Function<String, T> parse;

        ScalarReader(Class<T> type, Function<String, T> parse) {
            super(type);
            this.parse = parse;
        }

        @Override
        @SuppressWarnings("unchecked")
        public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            if (!p.currentToken().isScalarValue()) {
                return (T) ctxt.handleUnexpectedToken(handledType(), p);
            }
            String text = p.getText();
            try {
                return parse.apply(text);
            } catch (IllegalArgumentException | ArithmeticException e) {
                return (T) ctxt.handleWeirdStringValue(handledType(), text, e.getMessage());
            }
        }
    }

    /** A YAML list of strings, or one comma-separated string (as a flag gives it); blanks are dropped from the latter. */
    private static final class StringList extends StdDeserializer<List<String>> {
        StringList() {
            super(List.class);
        }

        @Override
        @SuppressWarnings("unchecked")
        public List<String> deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            if (p.currentToken().isScalarValue()) {
                return Arrays.stream(p.getText().split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            }
            if (p.currentToken() != JsonToken.START_ARRAY) {
                return (List<String>) ctxt.handleUnexpectedToken(List.class, p);
            }
            var items = new ArrayList<String>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                if (!p.currentToken().isScalarValue()) {
                    return (List<String>) ctxt.handleUnexpectedToken(List.class, p);
                }
                items.add(p.getText().strip());
            }
            return items;
        }
    }

    /** One entry of {@code scaling.pools}, as the file writes it; the pool's name is its key. */
    record PoolEntry(Integer min, Integer max, String autoScalingGroup) {
    }

    /** A pool from its entry: min 1, max 10 and the group {@code gpud-<name>} unless it says otherwise. */
    private static final class PoolReader extends StdDeserializer<PoolConfig> {
        PoolReader() {
            super(PoolConfig.class);
        }

        @Override
        public PoolConfig deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            return pool(p.currentName(), ctxt.readValue(p, PoolEntry.class));
        }

        @Override
        public PoolConfig getNullValue(DeserializationContext ctxt) {
            return pool(ctxt.getParser().getParsingContext().getCurrentName(), new PoolEntry(null, null, null));
        }

        private static PoolConfig pool(String name, PoolEntry entry) {
            return new PoolConfig(name, entry.min() != null ? entry.min() : 1, entry.max() != null ? entry.max() : 10,
                    entry.autoScalingGroup() != null ? entry.autoScalingGroup() : "gpud-" + name);
        }
    }

    /** A pool as its entry in {@code scaling.pools}. */
    private static final class PoolWriter extends StdSerializer<PoolConfig> {
        PoolWriter() {
            super(PoolConfig.class);
        }

        @Override
        public void serialize(PoolConfig pool, JsonGenerator out, SerializerProvider provider) throws IOException {
            provider.defaultSerializeValue(new PoolEntry(pool.minInstances(), pool.maxInstances(),
                    pool.autoScalingGroup()), out);
        }
    }
}
