package io.gpud.scaling;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;

/**
 * The EC2 Auto Scaling query API on a loopback port: records each request (form body,
 * headers) and answers with the XML AWS answers, or with an AWS error document for
 * actions it does not know and when told to fail.
 */
public final class FakeAutoScaling implements AutoCloseable {

    /** One request as it arrived, and when ({@code System.nanoTime}). */
    public record Request(String method, String path, String contentType, String authorization,
            Map<String, String> params, long receivedNanos) {
    }

    private static final String NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

    private final HttpServer server;
    private final List<Request> requests = new ArrayList<>();
    private final AtomicInteger failNext = new AtomicInteger();

    public FakeAutoScaling() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/", this::handle);
        server.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** A real SDK client pointed here, with static test credentials and no retries. */
    public AutoScalingClient client() {
        return AutoScalingClient.builder().endpointOverride(endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIDTEST", "secret")))
                .httpClientBuilder(ApacheHttpClient.builder())
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .retryStrategy(b -> b.maxAttempts(1)).build())
                .build();
    }

    public synchronized List<Request> requests() {
        return List.copyOf(requests);
    }

    /** The requests whose Action is {@code action}. */
    public synchronized List<Request> requests(String action) {
        return requests.stream().filter(r -> action.equals(r.params().get("Action"))).toList();
    }

    /** Answers the next {@code n} requests with a ValidationError. */
    public void failNext(int n) {
        failNext.set(n);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = exchange.getRequestBody().readNBytes(64 * 1024);
            var params = new LinkedHashMap<String, String>();
            for (String pair : new String(body, StandardCharsets.UTF_8).split("&")) {
                if (!pair.isEmpty()) {
                    int eq = pair.indexOf('=');
                    params.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            synchronized (this) {
                requests.add(new Request(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                        exchange.getRequestHeaders().getFirst("Content-Type"),
                        exchange.getRequestHeaders().getFirst("Authorization"), Map.copyOf(params),
                        System.nanoTime()));
            }
            String action = params.getOrDefault("Action", "");
            boolean known = action.equals("SetDesiredCapacity") || action.equals("CompleteLifecycleAction")
                    || action.equals("RecordLifecycleActionHeartbeat");
            if (!known || failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                respond(exchange, 400, "<ErrorResponse xmlns=\"" + NS + "\"><Error><Type>Sender</Type>"
                        + "<Code>ValidationError</Code><Message>No active Lifecycle Action found with instance ID "
                        + params.get("InstanceId") + "</Message></Error><RequestId>req-err</RequestId></ErrorResponse>");
                return;
            }
            String result = action.equals("SetDesiredCapacity") ? "" : "<" + action + "Result/>";
            respond(exchange, 200, "<" + action + "Response xmlns=\"" + NS + "\">" + result
                    + "<ResponseMetadata><RequestId>7c6e177f-f082-11e1-ac58-3714bEXAMPLE</RequestId>"
                    + "</ResponseMetadata></" + action + "Response>");
        }
    }

    private static void respond(HttpExchange exchange, int status, String xml) throws IOException {
        byte[] bytes = xml.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/xml");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
