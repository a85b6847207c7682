package io.gpud.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.api.AdminServer;
import io.gpud.api.FakeNodeControl;
import io.gpud.api.NodeStatus;
import io.gpud.core.NodeState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdminClientTest {

    @TempDir
    Path dir;

    @Test
    void roundTripsStatusDrainAndUndrain() throws Exception {
        var node = new FakeNodeControl();
        Path socket = dir.resolve("admin.sock");
        try (var _ = new AdminServer(socket, node).start()) {
            var client = new AdminClient(socket);
            NodeStatus status = new ObjectMapper().readValue(client.get("/v1/status"), NodeStatus.class);
            assertEquals(node.status(), status);
            assertEquals("{\"state\":\"DRAINING\"}", client.post("/v1/drain", "{}"));
            assertEquals(NodeState.DRAINING, node.state());
            assertEquals("{\"state\":\"READY\"}", client.post("/v1/undrain", ""));
            assertEquals(NodeState.READY, node.state());
        }
    }

    @Test
    void nonSuccessCarriesStatusAndBody() throws Exception {
        Path socket = dir.resolve("admin.sock");
        try (var _ = new AdminServer(socket, new FakeNodeControl()).start()) {
            var e = assertThrows(AdminClient.AdminResponseException.class,
                    () -> new AdminClient(socket).get("/v1/nope"));
            assertEquals(404, e.status());
            assertTrue(e.body().contains("\"error\""), e.body());
            var wrongMethod = assertThrows(AdminClient.AdminResponseException.class,
                    () -> new AdminClient(socket).get("/v1/drain"));
            assertEquals(405, wrongMethod.status());
        }
    }

    @Test
    void saysClearlyWhenNoDaemonAnswers() {
        Path socket = dir.resolve("nobody/admin.sock");
        var e = assertThrows(AdminClient.AdminUnavailableException.class, () -> new AdminClient(socket).get("/v1/status"));
        assertTrue(e.getMessage().startsWith("no gpud daemon answers at " + socket + ": "), e.getMessage());
    }

    @Test
    void saysClearlyWhenTheDaemonIsGoneButItsSocketRemains() throws Exception {
        Path socket = dir.resolve("admin.sock");
        try (var dead = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            dead.bind(java.net.UnixDomainSocketAddress.of(socket));
        }
        var e = assertThrows(AdminClient.AdminUnavailableException.class, () -> new AdminClient(socket).get("/v1/status"));
        assertTrue(e.getMessage().contains(socket.toString()), e.getMessage());
    }
}
