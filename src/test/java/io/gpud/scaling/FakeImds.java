package io.gpud.scaling;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * IMDSv2 on a loopback port, as strict as the real one: tokens only from
 * {@code PUT /latest/api/token} with a TTL header of 1 to 21600 seconds; metadata only
 * with a current token (else 401); 404 for paths it has no value for.
 */
public final class FakeImds implements AutoCloseable {

    /**
     * One request: method, path, the token header it carried, and the TTL header of a token
     * request (IMDS reads it nowhere else; the SDK also sends it with every read).
     */
    public record Request(String method, String path, String token, String ttl) {
    }

    private final HttpServer server;
    private final Map<String, String> metadata = new ConcurrentHashMap<>();
    private final List<Request> requests = new ArrayList<>();
    private final AtomicInteger tokens = new AtomicInteger();
    private volatile String validToken;

    public FakeImds() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/", this::handle);
        server.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Sets {@code /latest/meta-data/<path>}; null removes it. */
    public void set(String path, String value) {
        if (value == null) {
            metadata.remove(path);
        } else {
            metadata.put(path, value);
        }
    }

    /** Makes every token issued so far invalid, as when one expires. */
    public void expireTokens() {
        validToken = null;
    }

    public synchronized List<Request> requests() {
        return List.copyOf(requests);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String token = exchange.getRequestHeaders().getFirst("X-aws-ec2-metadata-token");
            String ttl = exchange.getRequestHeaders().getFirst("X-aws-ec2-metadata-token-ttl-seconds");
            boolean tokenRequest = path.equals("/latest/api/token");
            synchronized (this) {
                requests.add(new Request(exchange.getRequestMethod(), path, token, tokenRequest ? ttl : null));
            }
            if (tokenRequest) {
                if (!exchange.getRequestMethod().equals("PUT") || ttl == null || !ttl.matches("\\d{1,5}")
                        || Integer.parseInt(ttl) < 1 || Integer.parseInt(ttl) > 21600) {
                    respond(exchange, 400, "");
                    return;
                }
                validToken = "token-" + tokens.incrementAndGet();
                exchange.getResponseHeaders().set("X-aws-ec2-metadata-token-ttl-seconds", ttl);
                respond(exchange, 200, validToken);
                return;
            }
            if (!exchange.getRequestMethod().equals("GET") || token == null || !token.equals(validToken)) {
                respond(exchange, 401, "");
                return;
            }
            String prefix = "/latest/meta-data/";
            String value = path.startsWith(prefix) ? metadata.get(path.substring(prefix.length())) : null;
            if (value == null) {
                respond(exchange, 404, "");
            } else {
                respond(exchange, 200, value);
            }
        }
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
