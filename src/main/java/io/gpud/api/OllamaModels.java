package io.gpud.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.Time;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.ModelInfo;
import io.gpud.inference.ReplyFormat;
import io.gpud.inference.Residency;
import io.gpud.inference.Tokenizer;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Ollama's model routes: {@code GET /} ("Ollama is running"), {@code /api/version},
 * {@code /api/tags}, {@code /api/show}, {@code /api/ps}, and the model-management routes,
 * which answer an error naming the {@code gpud model} command to use instead (models come
 * from the model store, not from a registry).
 *
 * <p>A model is named {@code name:tag}, the tag being its model-store version, or
 * {@code latest} for a model loaded from a file; {@link Generations#engine} accepts the name
 * with or without the tag.
 */
final class OllamaModels {

    /** The Ollama release whose API these routes follow; clients read it to pick features. */
    static final String OLLAMA_API_VERSION = "0.6.0";

    /** What {@code expires_at} says of a model that stays loaded for good (as Ollama's far-future date). */
    private static final Instant NEVER = Instant.parse("2318-01-01T00:00:00Z");

    private static final Set<String> SHOW_FIELDS = Set.of("model", "name", "verbose");

    private final ModelCatalog catalog;
    private final Generations generations;
    private final Time time;

    OllamaModels(ModelCatalog catalog, Generations generations, Time time) {
        this.catalog = catalog;
        this.generations = generations;
        this.time = time;
    }

    record Version(String version) {
    }

    record Tags(List<Tag> models) {
    }

    record Tag(String name, String model, String modifiedAt, long size, String digest, Details details) {
    }

    record Details(String parentModel, String format, String family, List<String> families,
                   String parameterSize, String quantizationLevel) {
    }

    record Running(List<RunningModel> models) {
    }

    record RunningModel(String name, String model, long size, String digest, Details details, String expiresAt,
                        long sizeVram, int contextLength) {
    }

    record Show(String license, String modelfile, String parameters, String template, Details details,
                Map<String, Object> modelInfo, List<String> capabilities, String modifiedAt) {
    }

    /** {@code GET /} and {@code HEAD /}: what Ollama answers, which clients probe for. */
    void root(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        byte[] body = "Ollama is running".getBytes(StandardCharsets.UTF_8);
        if (req.prologue().method() == Method.HEAD) {
            res.header(HeaderNames.CONTENT_LENGTH, Integer.toString(body.length));
            res.send();
        } else {
            res.send(body);
        }
    }

    void version(ServerRequest req, ServerResponse res) {
        Responses.json(res, 200, new Version(OLLAMA_API_VERSION));
    }

    void tags(ServerRequest req, ServerResponse res) {
        List<Tag> tags = catalog.engines().stream().map(Engine::info).map(i -> new Tag(name(i), name(i),
                modified(i), i.sizeBytes(), digest(i), details(i))).toList();
        Responses.json(res, 200, new Tags(tags));
    }

    void ps(ServerRequest req, ServerResponse res) {
        var models = new ArrayList<RunningModel>();
        for (Residency.Loaded loaded : catalog.residency().loaded()) {
            ModelInfo i = loaded.engine().info();
            long vram = loaded.engine().device().equals("cpu") ? 0 : i.sizeBytes();
            Instant expires = loaded.expiresAt() == null ? NEVER : loaded.expiresAt();
            models.add(new RunningModel(name(i), name(i), i.sizeBytes(), digest(i), details(i), expires.toString(),
                    vram, i.contextLength()));
        }
        Responses.json(res, 200, new Running(models));
    }

    void show(ServerRequest req, ServerResponse res, ObjectNode body) {
        Fields.refuseUnknown(body, "", SHOW_FIELDS);
        Fields.bool(body, "verbose"); // the type is checked; there are no long arrays to add
        String model = Fields.string(body, "model").or(() -> Fields.string(body, "name"))
                .orElseThrow(() -> ApiException.invalid("model", "'model' is required"));
        Engine engine = generations.engine(model);
        ModelInfo i = engine.info();
        String template = engine.chatTemplate().source();
        var modelfile = "# Modelfile generated by gpud: the model comes from the node's model store or file\nFROM "
                + name(i) + "\n" + (template.isEmpty() ? "" : "TEMPLATE \"\"\"" + template + "\"\"\"\n");
        Responses.json(res, 200, new Show("", modelfile, "", template, details(i), modelInfo(i, engine.tokenizer()),
                capabilities(engine), modified(i)));
    }

    /** GGUF's metadata keys for what is known of the model, as Ollama lists them. */
    private static Map<String, Object> modelInfo(ModelInfo i, Tokenizer tokenizer) {
        var info = new LinkedHashMap<String, Object>();
        String arch = i.architecture();
        info.put("general.architecture", arch);
        info.put("general.name", i.name());
        info.put("general.parameter_count", i.parameters());
        info.put("general.file_type", i.weightType());
        info.put(arch + ".context_length", i.contextLength());
        if (i.embeddingLength() > 0) {
            info.put(arch + ".embedding_length", i.embeddingLength());
        }
        info.put(arch + ".vocab_size", i.vocabSize());
        info.put("tokenizer.ggml.bos_token_id", tokenizer.bos());
        info.put("tokenizer.ggml.eos_token_id", tokenizer.eos());
        return info;
    }

    /** completion always; embedding where the backend computes them; tools and thinking where the template has them. */
    private static List<String> capabilities(Engine engine) {
        var out = new ArrayList<>(List.of("completion"));
        if (engine.embeds()) {
            out.add("embedding");
        }
        ReplyFormat format = ReplyFormat.of(engine.chatTemplate());
        if (format.supportsTools()) {
            out.add("tools");
        }
        if (format.supportsThinking()) {
            out.add("thinking");
        }
        return out;
    }

    /**
     * {@code /api/pull}, {@code /api/push}, {@code /api/create}, {@code /api/copy},
     * {@code /api/delete}: 400 naming the model-store command that does it instead.
     */
    void management(ServerRequest req, ServerResponse res) {
        String path = req.path().rawPath();
        String instead = switch (path) {
            case "/api/pull" -> "publish the model into the model store with 'gpud model publish DIR', then load it "
                    + "on the nodes with 'gpud model load NAME[@VERSION]'";
            case "/api/push" -> "models are published into the model store with 'gpud model publish DIR'";
            case "/api/create" -> "write the model's files into a version directory of the model store and run "
                    + "'gpud model publish DIR'";
            case "/api/copy" -> "publish the version directory under the new name with 'gpud model publish DIR'";
            default -> "a node serves the model its configuration names; serve another with "
                    + "'gpud model load NAME[@VERSION]', and remove versions from the model store's directory";
        };
        throw ApiException.invalid(null, path + " is not served: models come from the model store, not from a "
                + "registry; " + instead);
    }

    /** The Ollama name of a served model: {@code name:version} for a store model, else {@code name:latest}. */
    String name(ModelInfo i) {
        String version = catalog.version(i.name());
        return i.name() + ":" + (version.equals(ModelCatalog.UNVERSIONED) ? "latest" : version);
    }

    private String modified(ModelInfo i) {
        return Instant.ofEpochSecond(i.createdEpochSeconds()).toString();
    }

    private static Details details(ModelInfo i) {
        return new Details("", i.format(), i.architecture(), List.of(i.architecture()), parameterSize(i.parameters()),
                i.weightType());
    }

    /** 15000000 → "15M", 7240000000 → "7.2B", as Ollama prints sizes. */
    static String parameterSize(long parameters) {
        String[] units = {"", "K", "M", "B", "T"};
        double v = parameters;
        int u = 0;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        String number = v >= 10 || v == Math.rint(v)
                ? Long.toString(Math.round(v))
                : String.format(Locale.ROOT, "%.1f", v);
        return number + units[u];
    }

    private String digest(ModelInfo i) {
        try {
            byte[] id = (name(i) + ":" + i.sizeBytes() + ":" + i.createdEpochSeconds()).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(id));
        } catch (NoSuchAlgorithmException e) {
            throw ApiException.internal("SHA-256 is not available", e);
        }
    }

    /** When this answer was made, for {@code created_at}. */
    String now() {
        return time.instant().toString();
    }
}
