package io.gpud.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import io.gpud.membership.MembershipAgent.KeyringChange;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The admin API on a Unix domain socket: the only way to drive the node, so nothing
 * administrative listens on TCP and access is the socket file's mode (0660).
 *
 * <p>Minimal HTTP/1.1 with JSON bodies, one request per connection, each connection on its
 * own virtual thread:
 * <ul>
 *   <li>{@code GET /v1/status} → the {@link NodeStatus} document;</li>
 *   <li>{@code POST /v1/drain} → {@code {"state": "DRAINING"}} (or the state reached);</li>
 *   <li>{@code POST /v1/undrain} → {@code {"state": "READY"}};</li>
 *   <li>{@code POST /v1/route/explain} with {@code {"model", "sourceIp", "prompt"}} → the routing decision's
 *       explanation (the cache term looks for the prompt's blocks, when one is given).</li>
 * </ul>
 * A request's head is capped at {@value #MAX_HEAD_BYTES} bytes, its body at
 * {@value #MAX_BODY_BYTES}, and it must arrive within {@link #REQUEST_TIMEOUT}; anything
 * else is answered with a JSON error or the connection is closed. No request can stop the
 * server.
 */
public final class AdminServer implements AutoCloseable {

    /** Largest request line plus headers accepted. */
    static final int MAX_HEAD_BYTES = 16 * 1024;
    /** Largest request body accepted. */
    static final int MAX_BODY_BYTES = 64 * 1024;
    /** Time a client has to send its whole request. */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path socket;
    private final NodeControl node;
    private volatile ServerSocketChannel channel;

    /**
     * @param socket where the socket file is created; its parent directories are created too
     * @param node   what the admin operations act on
     */
    public AdminServer(Path socket, NodeControl node) {
        this.socket = socket;
        this.node = node;
    }

    /**
     * Binds the socket and starts accepting. A stale socket file left by a dead daemon is
     * removed; a socket another daemon still answers on, or a path that is not a socket,
     * is an error.
     */
    public AdminServer start() throws IOException {
        Path parent = socket.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        removeStaleSocket();
        var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        channel = server;
        Thread.ofVirtual().name("gpud-admin-accept").start(this::acceptLoop);
        LOG.info("admin API listening on {}", socket);
        return this;
    }

    /** The socket file. */
    public Path socket() {
        return socket;
    }

    /** Stops accepting and removes the socket file. */
    @Override
    public void close() {
        ServerSocketChannel server = channel;
        channel = null;
        if (server == null) {
            return;
        }
        try {
            server.close();
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.warn("could not remove the admin socket {}: {}", socket, e.toString());
        }
    }

    private void removeStaleSocket() throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        var attributes = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isOther()) {
            throw new IOException("admin socket path " + socket + " exists and is not a socket; refusing to remove it");
        }
        boolean answered;
        try (var probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            answered = true;
        } catch (IOException e) {
            answered = false;
        }
        if (answered) {
            throw new IOException("another gpud daemon already answers at " + socket);
        }
        LOG.info("removing stale admin socket {}", socket);
        Files.deleteIfExists(socket);
    }

    private void acceptLoop() {
        while (true) {
            ServerSocketChannel server = channel;
            if (server == null) {
                return;
            }
            try {
                SocketChannel connection = server.accept();
                Thread.ofVirtual().name("gpud-admin-conn").start(() -> serve(connection));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.warn("admin socket accept failed: {}", e.toString());
            }
        }
    }

    private record Request(String method, String path, byte[] body) {
    }

    private void serve(SocketChannel connection) {
        var watchdog = CompletableFuture.runAsync(() -> closeQuietly(connection),
                CompletableFuture.delayedExecutor(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        try (connection) {
            int status;
            Object body;
            try {
                Request request = read(new BufferedInputStream(Channels.newInputStream(connection)));
                watchdog.cancel(false);
                body = dispatch(request);
                status = 200;
            } catch (RuntimeException e) {
                ApiException api = Errors.classify(e);
                status = api.status();
                body = Errors.body(api, Errors.Dialect.OPENAI);
            }
            write(connection, status, body);
        } catch (IOException e) {
            LOG.debug("admin connection ended early: {}", e.toString());
        } finally {
            watchdog.cancel(false);
        }
    }

    private Object dispatch(Request r) {
        return switch (r.path()) {
            case "/v1/status" -> {
                requireMethod(r, "GET");
                yield node.status();
            }
            case "/v1/drain" -> {
                requireMethod(r, "POST");
                yield Map.of("state", node.drain().name());
            }
            case "/v1/undrain" -> {
                requireMethod(r, "POST");
                yield Map.of("state", node.undrain().name());
            }
            case "/v1/keyring" -> {
                requireMethod(r, "GET");
                yield Map.of("keys", node.keys());
            }
            case "/v1/route/explain" -> explain(r);
            case "/v1/keyring/install" -> keyring(r, KeyringOperation.INSTALL);
            case "/v1/keyring/use" -> keyring(r, KeyringOperation.USE);
            case "/v1/keyring/remove" -> keyring(r, KeyringOperation.REMOVE);
            case "/v1/models/load" -> loadModel(r);
            default -> throw ApiException.routeNotFound(r.method(), r.path());
        };
    }

    /** {@code POST /v1/models/load} with {@code {"name": "<model>", "version": "<version>"}} (version optional). */
    private Object loadModel(Request r) {
        requireMethod(r, "POST");
        JsonNode body = jsonBody(r, "{\"name\": \"<model>\", \"version\": \"<v>\"}");
        if (!body.path("name").isTextual()) {
            throw ApiException.invalid("name", "the body must name the model: {\"name\": \"<model>\"}");
        }
        JsonNode version = body.path("version");
        if (!version.isMissingNode() && !version.isNull() && !version.isTextual()) {
            throw ApiException.invalid("version", "version must be a string");
        }
        return switch (node.loadModel(body.path("name").asText(), version.isTextual() ? version.asText() : null)) {
            case ModelReload.Started s -> Map.of("model", s.model(), "version", s.version(), "state", "loading");
            case ModelReload.Refused refused -> throw ApiException.invalid("name", refused.reason());
        };
    }

    /** {@code POST /v1/route/explain} with {@code {"model": "M", "sourceIp": "10.0.0.1", "prompt": "..."}}. */
    private Object explain(Request r) {
        requireMethod(r, "POST");
        JsonNode body = jsonBody(r, "{\"model\": \"NAME\", \"sourceIp\": \"IP\"}");
        String model = body.path("model").asText("");
        if (model.isBlank()) {
            throw ApiException.invalid("model", "the body must name a model: {\"model\": \"NAME\"}");
        }
        String source = body.path("sourceIp").asText("");
        if (!source.isEmpty() && !source.matches("[0-9.]{7,15}|[0-9a-fA-F:]{2,39}")) {
            throw ApiException.invalid("sourceIp", "sourceIp was '" + source + "', not an IP address");
        }
        JsonNode prompt = body.path("prompt");
        if (!prompt.isMissingNode() && !prompt.isNull() && !prompt.isTextual()) {
            throw ApiException.invalid("prompt", "prompt must be text, as /v1/completions takes it");
        }
        var explanation = node.explainRoute(model, source.isEmpty() ? null : source,
                prompt.isTextual() ? prompt.textValue() : null);
        if (explanation == null) {
            throw ApiException.invalid(null, "this node does not route (routing.enabled is false)");
        }
        return explanation;
    }

    /**
     * {@code POST /v1/keyring/<operation>} with {@code {"key": "<base64>"}}; with
     * {@code "cluster": true} the operation is gossiped to every member.
     */
    private Object keyring(Request r, KeyringOperation operation) {
        requireMethod(r, "POST");
        JsonNode body = jsonBody(r, "{\"key\": \"<base64 AES-256 key>\"}");
        String key = body.path("key").asText("");
        boolean cluster = body.path("cluster").asBoolean(false);
        if (key.isBlank()) {
            throw ApiException.invalid("key", "the body must name a key: {\"key\": \"<base64 AES-256 key>\"}");
        }
        var change = cluster ? node.changeClusterKeyring(operation, key) : node.changeKeyring(operation, key);
        return switch (change) {
            case KeyringChange.Applied a -> Map.of("keys", a.keys());
            case KeyringChange.Refused refused -> throw ApiException.invalid("key", refused.reason());
        };
    }

    /** The request's JSON body (a missing node when empty), or 400 showing {@code shape}. */
    private static JsonNode jsonBody(Request r, String shape) {
        try {
            JsonNode body = MAPPER.readTree(r.body());
            return body == null ? MissingNode.getInstance() : body;
        } catch (IOException e) {
            throw ApiException.invalid(null, "the body must be JSON: " + shape);
        }
    }

    private static void requireMethod(Request r, String method) {
        if (!r.method().equals(method)) {
            throw ApiException.methodNotAllowed(r.method(), r.path());
        }
    }

    /** Reads the request line, headers and body. */
    private static Request read(InputStream in) throws IOException {
        String head = readHead(in);
        String[] lines = head.split("\r\n");
        String[] requestLine = lines[0].split(" ");
        if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
            throw ApiException.invalid(null, "malformed request line: " + abbreviate(lines[0]));
        }
        long contentLength = 0;
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                throw ApiException.invalid(null, "malformed header line: " + abbreviate(lines[i]));
            }
            String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(colon + 1).trim();
            if (name.equals("content-length")) {
                try {
                    contentLength = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw ApiException.invalid(null, "Content-Length is not a number: " + abbreviate(value));
                }
                if (contentLength < 0) {
                    throw ApiException.invalid(null, "Content-Length is negative: " + contentLength);
                }
            } else if (name.equals("transfer-encoding")) {
                throw ApiException.invalid(null, "Transfer-Encoding is not supported; send Content-Length");
            }
        }
        if (contentLength > MAX_BODY_BYTES) {
            throw ApiException.tooLarge("the request body of " + contentLength + " bytes", MAX_BODY_BYTES);
        }
        byte[] body = in.readNBytes((int) contentLength);
        if (body.length < contentLength) {
            throw ApiException.invalid(null, "the body ended after " + body.length + " of " + contentLength + " bytes");
        }
        String path = requestLine[1];
        int query = path.indexOf('?');
        return new Request(requestLine[0], query < 0 ? path : path.substring(0, query), body);
    }

    private static String readHead(InputStream in) throws IOException {
        var head = new ByteArrayOutputStream(512);
        int matched = 0;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw ApiException.invalid(null, "the request ended before its headers did");
            }
            head.write(b);
            if (head.size() > MAX_HEAD_BYTES) {
                throw ApiException.tooLarge("the request head", MAX_HEAD_BYTES);
            }
            matched = switch (b) {
                case '\r' -> matched == 2 ? 3 : 1;
                case '\n' -> matched == 1 || matched == 3 ? matched + 1 : 0;
                default -> 0;
            };
            if (matched == 4) {
                byte[] bytes = head.toByteArray();
                return new String(bytes, 0, bytes.length - 4, StandardCharsets.ISO_8859_1);
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    private static void write(SocketChannel connection, int status, Object body) throws IOException {
        byte[] json;
        try {
            json = MAPPER.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IOException("could not serialize the admin response", e);
        }
        String head = "HTTP/1.1 " + status + " " + reason(status) + "\r\n"
                + "Content-Type: application/json\r\n"
                + "Content-Length: " + json.length + "\r\n"
                + "Connection: close\r\n\r\n";
        ByteBuffer out = ByteBuffer.allocate(head.length() + json.length);
        out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(json).flip();
        while (out.hasRemaining()) {
            connection.write(out);
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 413 -> "Content Too Large";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> "Error";
        };
    }

    private static void closeQuietly(SocketChannel connection) {
        try {
            connection.close();
        } catch (IOException e) {
            LOG.debug("closing a timed-out admin connection failed: {}", e.toString());
        }
    }
}
