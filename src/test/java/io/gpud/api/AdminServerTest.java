package io.gpud.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdminServerTest {

    @TempDir
    Path dir;

    private final FakeNodeControl node = new FakeNodeControl();

    @Test
    void createsParentsSetsModeAndRemovesTheSocketOnClose() throws Exception {
        Path socket = dir.resolve("run/gpud/admin.sock");
        try (var server = new AdminServer(socket, node).start()) {
            assertTrue(Files.exists(socket));
            assertEquals(PosixFilePermissions.fromString("rw-rw----"), Files.getPosixFilePermissions(socket));
            assertTrue(raw(socket, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n").startsWith("HTTP/1.1 200 "));
            assertEquals(socket, server.socket());
        }
        assertFalse(Files.exists(socket));
    }

    @Test
    void replacesAStaleSocket() throws Exception {
        Path socket = dir.resolve("admin.sock");
        try (var dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket), "a closed listener leaves its socket file behind");
        try (var _ = new AdminServer(socket, node).start()) {
            assertTrue(raw(socket, "GET /v1/status HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200 "));
        }
    }

    @Test
    void refusesToTakeOverALiveSocketOrARegularFile() throws Exception {
        Path socket = dir.resolve("admin.sock");
        try (var _ = new AdminServer(socket, node).start()) {
            var e = assertThrows(IOException.class, () -> new AdminServer(socket, node).start());
            assertTrue(e.getMessage().contains("already answers"), e.getMessage());
            assertTrue(raw(socket, "GET /v1/status HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200 "));
        }
        Path file = Files.writeString(dir.resolve("not-a-socket"), "keep me");
        assertThrows(IOException.class, () -> new AdminServer(file, node).start());
        assertEquals("keep me", Files.readString(file));
    }

    @Test
    void drainsAndUndrains() throws Exception {
        Path socket = dir.resolve("admin.sock");
        try (var _ = new AdminServer(socket, node).start()) {
            String drained = raw(socket, "POST /v1/drain HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
            assertTrue(drained.endsWith("{\"state\":\"DRAINING\"}"), drained);
            String undrained = raw(socket, "POST /v1/undrain HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
            assertTrue(undrained.endsWith("{\"state\":\"READY\"}"), undrained);
        }
    }

    @Test
    void badRequestsGetJsonErrorsAndTheServerGoesOn() throws Exception {
        Path socket = dir.resolve("admin.sock");
        try (var _ = new AdminServer(socket, node).start()) {
            assertStatus(400, raw(socket, "garbage\r\n\r\n"));
            assertStatus(400, raw(socket, "GET /v1/status HTTP/1.1\r\nno colon here\r\n\r\n"));
            assertStatus(400, raw(socket, "POST /v1/drain HTTP/1.1\r\nContent-Length: x\r\n\r\n"));
            assertStatus(400, raw(socket, "POST /v1/drain HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
            assertStatus(413, raw(socket, "POST /v1/drain HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"));
            assertStatus(413, raw(socket, "GET /v1/status HTTP/1.1\r\nX: " + "a".repeat(20_000) + "\r\n\r\n"));
            assertStatus(404, raw(socket, "GET /v1/nothing HTTP/1.1\r\n\r\n"));
            assertStatus(405, raw(socket, "GET /v1/drain HTTP/1.1\r\n\r\n"));
            assertStatus(400, raw(socket, "GET /v1/status HTTP/1.1\r\n"));
            String ok = raw(socket, "GET /v1/status HTTP/1.1\r\n\r\n");
            assertStatus(200, ok);
            var status = new ObjectMapper().readValue(ok.substring(ok.indexOf("\r\n\r\n") + 4), NodeStatus.class);
            assertEquals(node.status(), status);
        }
    }

    private static void assertStatus(int status, String response) {
        assertTrue(response.startsWith("HTTP/1.1 " + status + " "), response);
        String body = response.substring(response.indexOf("\r\n\r\n") + 4);
        if (status != 200) {
            assertTrue(body.startsWith("{\"error\":{"), body);
        }
    }

    /** Sends raw bytes, half-closes, and reads the whole response. */
    static String raw(Path socket, String request) throws IOException {
        try (var channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            var out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                channel.write(out);
            }
            channel.shutdownOutput();
            return new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
