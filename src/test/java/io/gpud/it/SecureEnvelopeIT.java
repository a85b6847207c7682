package io.gpud.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar in local secure mode, as a tenant uses it: {@code gpud tenant seal}
 * against the daemon's local KMS, {@code POST /v1/secure/chat/completions}, {@code gpud
 * tenant open}, and a second request of the same data-key session ({@code --reuse-key});
 * then the audit log verifies, and fails to once edited.
 */
class SecureEnvelopeIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/it-tenant";

    @TempDir
    Path dir;

    @Test
    void sealSendOpenAndAudit() throws Exception {
        try (var d = Daemon.start(dir.resolve("data"), "--demo", "--secure", "local")) {
            Matcher m = Pattern.compile("--kms-endpoint (http://127\\.0\\.0\\.1:\\d+)").matcher(d.log());
            assertTrue(m.find(), "the local-mode banner names the KMS endpoint:\n" + d.log());
            assertTrue(d.log().contains("INSECURE"), "local mode prints a loud banner");
            Path request = dir.resolve("request.json");
            Files.writeString(request, "{\"model\":\"gpud-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                    + "\"max_tokens\":8,\"temperature\":0}");
            var seal = Daemon.CliResult.run(List.of("bin/gpud", "tenant", "seal", "--kms-endpoint", m.group(1),
                    "--unsigned", "--key-arn", KEY, "--tenant", "acme", "--request-id", "it-1",
                    "--in", request.toString(), "--out", dir.resolve("envelope.json").toString(),
                    "--key-file", dir.resolve("key.json").toString()));
            assertEquals(0, seal.exitCode(), seal.stderr());

            String envelope = Files.readString(dir.resolve("envelope.json"));
            var response = d.post("/v1/secure/chat/completions", envelope);
            assertEquals(200, response.statusCode(), response.body());
            assertTrue(!response.body().contains("chat.completion"), "the response is sealed");
            Files.writeString(dir.resolve("response.json"), response.body());
            var open = Daemon.CliResult.run(List.of("bin/gpud", "tenant", "open", "--key-file",
                    dir.resolve("key.json").toString(), "--in", dir.resolve("response.json").toString()));
            assertEquals(0, open.exitCode(), open.stderr());
            JsonNode completion = JSON.readTree(open.stdout());
            assertEquals("chat.completion", completion.path("object").asText());
            assertEquals(8, completion.path("usage").path("completion_tokens").asInt());

            var next = Daemon.CliResult.run(List.of("bin/gpud", "tenant", "seal", "--reuse-key",
                    dir.resolve("key.json").toString(), "--key-arn", KEY, "--tenant", "acme", "--request-id", "it-2",
                    "--in", request.toString(), "--out", dir.resolve("envelope-2.json").toString(),
                    "--key-file", dir.resolve("key-2.json").toString()));
            assertEquals(0, next.exitCode(), next.stderr());
            var second = d.post("/v1/secure/chat/completions", Files.readString(dir.resolve("envelope-2.json")));
            assertEquals(200, second.statusCode(), second.body());
            Files.writeString(dir.resolve("response-2.json"), second.body());
            var openSecond = Daemon.CliResult.run(List.of("bin/gpud", "tenant", "open", "--key-file",
                    dir.resolve("key-2.json").toString(), "--in", dir.resolve("response-2.json").toString()));
            assertEquals(0, openSecond.exitCode(), openSecond.stderr());
            assertEquals("chat.completion", JSON.readTree(openSecond.stdout()).path("object").asText());

            var replay = d.post("/v1/secure/chat/completions", envelope);
            assertEquals(403, replay.statusCode(), replay.body());
            var bad = d.post("/v1/secure/completions", "{\"keyArn\":\"x\",\"iv\":\"!!\"}");
            assertEquals(400, bad.statusCode(), bad.body());

            // The enclave program dies: secure requests answer 503 with Retry-After, the rest serves on.
            var third = Daemon.CliResult.run(List.of("bin/gpud", "tenant", "seal", "--reuse-key",
                    dir.resolve("key.json").toString(), "--key-arn", KEY, "--tenant", "acme", "--request-id", "it-3",
                    "--in", request.toString(), "--out", dir.resolve("envelope-3.json").toString(),
                    "--key-file", dir.resolve("key-3.json").toString()));
            assertEquals(0, third.exitCode(), third.stderr());
            ProcessHandle child = d.process.descendants()
                    .filter(p -> p.info().commandLine().orElse("").contains("EnclaveMain")).findFirst().orElseThrow();
            child.destroyForcibly();
            child.onExit().get(10, TimeUnit.SECONDS);
            var unavailable = d.post("/v1/secure/chat/completions", Files.readString(dir.resolve("envelope-3.json")));
            assertEquals(503, unavailable.statusCode(), unavailable.body());
            assertTrue(unavailable.body().contains("the enclave is unavailable"), unavailable.body());
            assertEquals("1", unavailable.headers().firstValue("retry-after").orElse(null));
            var plain = d.post("/v1/chat/completions", Files.readString(request));
            assertEquals(200, plain.statusCode(), plain.body());
        }
        Path audit = dir.resolve("data/audit.log");
        var verify = Daemon.CliResult.run(List.of("bin/gpud", "audit", "verify", audit.toString()));
        assertEquals(0, verify.exitCode(), verify.stderr());
        assertTrue(Files.readString(audit).contains("cached in the enclave"),
                "the session's second request used the key the enclave kept");
        List<String> lines = Files.readAllLines(audit);
        lines.set(2, lines.get(2).replace("acme", "acmf"));
        Files.write(audit, lines);
        var tampered = Daemon.CliResult.run(List.of("bin/gpud", "audit", "verify", audit.toString()));
        assertEquals(1, tampered.exitCode());
        assertTrue(tampered.stderr().contains("broken at record 3"), tampered.stderr());
    }

    @Test
    void localModeIsRefusedWhenTheConfigSaysProduction() throws Exception {
        Path config = dir.resolve("prod.yaml");
        Files.writeString(config, "secure:\n  environment: production\n");
        var run = Daemon.CliResult.run(List.of("bin/gpud", "run", "--config", config.toString(), "--secure", "local",
                "--data-dir", dir.resolve("data").toString()));
        assertEquals(1, run.exitCode());
        assertTrue(run.stderr().contains("never runs in production"), run.stderr());
    }
}
