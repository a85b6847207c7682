package io.gpud.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Talks to the daemon's admin API over its Unix domain socket: one HTTP/1.1 request per
 * connection, JSON in and out. Not thread-confined; every call opens its own connection.
 */
public final class AdminClient {

    /** Longest response accepted; a status document of a large cluster fits easily. */
    static final int MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
    /** Time the daemon has to answer one call. */
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Path socket;

    /** @param socket the daemon's admin socket file */
    public AdminClient(Path socket) {
        this.socket = socket;
    }

    /** {@code GET path}; returns the response body of a 2xx answer. */
    public String get(String path) throws IOException {
        return exchange("GET", path, "");
    }

    /** What a status poll makes of one answer: an exit code to stop with, or null to go on. */
    @FunctionalInterface
    public interface StatusStep {
        Integer exitCode(JsonNode status);
    }

    /**
     * Reads {@code /v1/status} every {@code every} and hands it to {@code step} until the step
     * gives an exit code, or until {@code limit} has passed (empty).
     */
    public Optional<Integer> pollStatus(Duration limit, Duration every, StatusStep step)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            Thread.sleep(every);
            Integer code = step.exitCode(StatusCommand.JSON.readTree(get("/v1/status")));
            if (code != null) {
                return Optional.of(code);
            }
        }
        return Optional.empty();
    }

    /** {@code POST path} with a JSON body; returns the response body of a 2xx answer. */
    public String post(String path, String body) throws IOException {
        return exchange("POST", path, body);
    }

    private String exchange(String method, String path, String body) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        var timedOut = new AtomicBoolean();
        try (channel) {
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw new AdminUnavailableException(socket, e);
            }
            var watchdog = CompletableFuture.runAsync(() -> {
                timedOut.set(true);
                closeQuietly(channel);
            }, CompletableFuture.delayedExecutor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
            try {
                send(channel, method, path, body);
                return parse(method, path, Channels.newInputStream(channel).readNBytes(MAX_RESPONSE_BYTES + 1));
            } finally {
                watchdog.cancel(false);
            }
        } catch (IOException e) {
            if (timedOut.get()) {
                throw new IOException("the gpud daemon at " + socket + " did not answer " + method + " " + path
                        + " within " + TIMEOUT.toSeconds() + " s", e);
            }
            throw e;
        }
    }

    private static void send(SocketChannel channel, String method, String path, String body) throws IOException {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\n"
                + "Host: localhost\r\n"
                + "Content-Type: application/json\r\n"
                + "Content-Length: " + content.length + "\r\n"
                + "Connection: close\r\n\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(headBytes.length + content.length).put(headBytes).put(content).flip();
        while (out.hasRemaining()) {
            channel.write(out);
        }
    }

    private String parse(String method, String path, byte[] response) throws IOException {
        if (response.length > MAX_RESPONSE_BYTES) {
            throw new IOException("the gpud daemon at " + socket + " sent more than " + MAX_RESPONSE_BYTES
                    + " bytes for " + method + " " + path);
        }
        int headEnd = indexOf(response, new byte[] {'\r', '\n', '\r', '\n'});
        if (headEnd < 0) {
            throw new IOException("the gpud daemon at " + socket + " sent a malformed response to " + method + " "
                    + path + " (" + response.length + " bytes, no end of headers)");
        }
        String head = new String(response, 0, headEnd, StandardCharsets.ISO_8859_1);
        String statusLine = head.lines().findFirst().orElse("");
        String[] parts = statusLine.split(" ", 3);
        int status;
        try {
            status = parts.length >= 2 && parts[0].startsWith("HTTP/1.") ? Integer.parseInt(parts[1]) : -1;
        } catch (NumberFormatException e) {
            status = -1;
        }
        if (status < 0) {
            throw new IOException("the gpud daemon at " + socket + " sent a malformed status line: " + statusLine);
        }
        String body = new String(response, headEnd + 4, response.length - headEnd - 4, StandardCharsets.UTF_8);
        if (status < 200 || status > 299) {
            throw new AdminResponseException(method + " " + path, status, body);
        }
        return body;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // closing only interrupts the blocked call; its own failure says enough
        }
    }

    /** Nothing answers on the admin socket: the daemon is not running or the path is wrong. */
    public static final class AdminUnavailableException extends IOException {
        AdminUnavailableException(Path socket, IOException cause) {
            super("no gpud daemon answers at " + socket + ": " + describe(cause), cause);
        }

        private static String describe(IOException e) {
            return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        }
    }

    /** The daemon answered with a non-2xx status; {@link #body()} holds its JSON error. */
    public static final class AdminResponseException extends IOException {
        private final int status;
        private final String body;

        AdminResponseException(String call, int status, String body) {
            super(call + " answered " + status + ": " + body);
            this.status = status;
            this.body = body;
        }

        public int status() {
            return status;
        }

        public String body() {
            return body;
        }
    }
}
