package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpud.audit.AuditLog;
import io.gpud.audit.SmallTmpfs;
import io.gpud.cli.Main;
import io.gpud.enclave.TenantTool;
import io.gpud.node.LoopbackNodes;
import io.gpud.node.Node;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The secure route under a full disk, through a node in this JVM in local secure mode (the
 * enclave program as a child process, local KMS) whose audit log lives on a small tmpfs:
 * once the disk is full, secure requests are refused with 503 and Retry-After (never
 * served without their record), {@code gpud_audit_write_failures_total} counts the failed
 * writes and {@code /health/ready} says why the node is not ready; the plain routes serve
 * on. Once space returns, a request refused meanwhile is served when sent again, the node
 * is ready again, and the log verifies with consecutive sequence numbers. Needs root to
 * mount the tmpfs; skipped otherwise.
 */
class SecureAuditFullDiskTest {

    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/full-disk";
    static final byte[] REQUEST = ("{\"model\":\"gpud-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
            + "\"max_tokens\":2,\"temperature\":0}").getBytes(StandardCharsets.UTF_8);
    static final Duration WAIT = Duration.ofSeconds(30);
    static final Pattern FAILURES = Pattern.compile("(?m)^gpud_audit_write_failures_total (\\S+)$");

    final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    @Test
    void aFullDiskRefusesSecureRequestsUntilSpaceReturnsAndTheLogStaysIntact() throws Exception {
        try (var disk = SmallTmpfs.mountOrSkip(dir.resolve("disk"), 256 << 10)) {
            Path audit = disk.root().resolve("audit.log");
            var config = LoopbackNodes.config(dir, "secure", Map.of(
                    "model.demo", "true",
                    "secure.mode", "local",
                    "secure.auditFile", audit.toString(),
                    "gossip.enabled", "false"));
            try (Node node = Node.start(config);
                 var session = TenantTool.openSession(node.secureKmsEndpoint().orElseThrow(), "us-east-1", true, KEY,
                         "acme", "full-disk")) {
                assertEquals(200, secure(node, session.seal("before", REQUEST).envelopeJson()).statusCode());

                disk.fill();
                HttpResponse<String> refused = null;
                for (int i = 0; i < 50 && refused == null; i++) {
                    var r = secure(node, session.seal("filling-" + i, REQUEST).envelopeJson());
                    if (r.statusCode() != 200) {
                        refused = r;
                    }
                }
                assertNotNull(refused, "50 secure requests on a full disk were all served");
                assertRefusedForTheAuditLog(refused);
                byte[] waiting = session.seal("while-full", REQUEST).envelopeJson();
                assertRefusedForTheAuditLog(secure(node, waiting));
                assertTrue(failures(node) >= 2, "gpud_audit_write_failures_total counts each failed write: "
                        + failures(node));
                var ready = get(node.port(), "/health/ready");
                assertEquals(503, ready.statusCode(), ready.body());
                assertTrue(ready.body().contains("audit log"), ready.body());
                var plain = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port()
                                + "/v1/chat/completions")).header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(REQUEST)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, plain.statusCode(), "the plain routes serve on: " + plain.body());

                disk.free();
                var served = secure(node, waiting);
                assertEquals(200, served.statusCode(), "the request refused while the disk was full is served "
                        + "when sent again: " + served.body());
                awaitStatus(node.port(), "/health/ready", code -> code == 200);
            }
            var intact = assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(audit));
            List<String> lines = Files.readAllLines(audit);
            assertEquals(lines.size(), intact.records(), "every line is a whole record, numbered 1.." + lines.size());
            assertTrue(lines.stream().anyMatch(l -> l.contains("\"event\":\"audit.resumed\"")),
                    "the log records that writes failed and resumed");
            assertTrue(lines.stream().anyMatch(l -> l.contains("\"requestId\":\"while-full\"")
                    && l.contains("\"event\":\"enclave.seal\"")), "the request served after the disk was freed");
            assertEquals(0, Main.execute("audit", "verify", audit.toString()));
        }
    }

    void assertRefusedForTheAuditLog(HttpResponse<String> r) throws Exception {
        assertEquals(503, r.statusCode(), r.body());
        assertEquals("1", r.headers().firstValue("retry-after").orElse(null), r.headers().toString());
        var message = new ObjectMapper().readTree(r.body()).path("error").path("message").asText();
        assertTrue(message.contains("audit log"), r.body());
    }

    HttpResponse<String> secure(Node node, byte[] envelope) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port()
                        + "/v1/secure/chat/completions")).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(envelope)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    double failures(Node node) throws Exception {
        Matcher m = FAILURES.matcher(get(node.metricsPort(), "/metrics").body());
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    void awaitStatus(int port, String path, Predicate<Integer> done) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        int last = -1;
        while (System.nanoTime() < deadline) {
            last = get(port, path).statusCode();
            if (done.test(last)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(path + " answered " + last + " for " + WAIT);
    }
}
