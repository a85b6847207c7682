package io.gpud.enclave;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/** A KMS endpoint that misbehaves: every call gets the same answer, counted. */
final class FakeKms implements AutoCloseable {

    private final HttpServer server;
    final AtomicInteger calls = new AtomicInteger();

    private FakeKms(int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        server.createContext("/", ex -> {
            try (ex) {
                calls.incrementAndGet();
                ex.getRequestBody().readAllBytes();
                ex.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.1");
                ex.sendResponseHeaders(status, bytes.length);
                ex.getResponseBody().write(bytes);
            }
        });
        server.start();
    }

    /** Answers every Decrypt with a plaintext key, recipient or not. */
    static FakeKms plaintext(String keyArn) throws IOException {
        return new FakeKms(200, "{\"KeyId\":\"" + keyArn + "\",\"Plaintext\":\"" + "A".repeat(43) + "=\"}");
    }

    /** Answers every call with the error {@code type} (an awsJson1.1 {@code __type}) and {@code status}. */
    static FakeKms error(int status, String type) throws IOException {
        return new FakeKms(status, "{\"__type\":\"" + type + "\",\"message\":\"from the fake\"}");
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
