package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.Time;
import io.gpud.enclave.SealedResponse;
import io.gpud.enclave.SecureEnvelope;
import io.gpud.enclave.SecureGateway;
import io.gpud.enclave.crypto.PayloadCipher;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.Base64;
import java.util.Optional;

/**
 * {@code POST /v1/secure/chat/completions} and {@code /v1/secure/completions}: the body is
 * a sealed envelope {@code {keyArn, encryptedDataKey, iv, ciphertext, aad}} (base64 byte
 * fields); {@link SecureGateway} opens it through the enclave, the decrypted request runs
 * through the same OpenAI handling as the plain routes (whole, not streamed), and the
 * answer goes back sealed for the same tenant and request as {@code {iv, ciphertext, aad}}.
 *
 * <p>Errors: 400 for a malformed envelope or a decrypted request that is not valid, 403
 * for any cryptographic refusal (one message for all), 404 when the node has no secure
 * stack, 5xx when the enclave or KMS fails, 503 when the audit log cannot be written. Errors of the decrypted request are returned
 * in clear like any OpenAI error: they name fields, never payload.
 */
final class SecureHandlers {

    private final Optional<SecureGateway> gateway;
    private final NodeView node;
    private final Time time;
    private final Generations generations;
    private final OpenAiHandlers openAi;
    private final JsonBodies bodies;

    /** @param gateway the secure stack's gateway; empty when {@code secure.mode} is off */
    SecureHandlers(Optional<SecureGateway> gateway, NodeView node, Time time, Generations generations,
                   OpenAiHandlers openAi, JsonBodies bodies) {
        this.gateway = gateway;
        this.node = node;
        this.time = time;
        this.generations = generations;
        this.openAi = openAi;
        this.bodies = bodies;
    }

    record Sealed(String iv, String ciphertext, String aad) {
    }

    void chatCompletions(ServerRequest req, ServerResponse res) {
        handle(req, res, true);
    }

    void completions(ServerRequest req, ServerResponse res) {
        handle(req, res, false);
    }

    private void handle(ServerRequest req, ServerResponse res, boolean chat) {
        long start = time.nanos();
        if (gateway.isEmpty()) {
            throw ApiException.secureRefused(404, "the secure envelope is not enabled on this node");
        }
        generations.ensureAcceptingWork(node.state());
        SecureGateway gateway = this.gateway.get();
        SecureEnvelope envelope = envelope(bodies.readObject(req));
        var opening = gateway.open(envelope);
        if (opening instanceof SecureGateway.Refused r) {
            throw ApiException.secureRefused(r.status(), r.publicReason());
        }
        var opened = (SecureGateway.Opened) opening;
        boolean sealed = false;
        try {
            ObjectNode request;
            try {
                request = bodies.parseObject(opened.plaintext());
            } finally {
                PayloadCipher.zero(opened.plaintext());
            }
            if (!opened.aad().model().equals(Fields.requiredString(request, "model"))) {
                throw ApiException.invalid("model", "the request's model is not the model its envelope is bound to");
            }
            byte[] answer = Responses.bytes(openAi.completeWhole(request, chat, start));
            var sealing = gateway.seal(opened.aad(), answer);
            PayloadCipher.zero(answer);
            sealed = true;
            if (sealing instanceof SecureGateway.Refused r) {
                throw ApiException.secureRefused(r.status(), r.publicReason());
            }
            SealedResponse s = ((SecureGateway.Sealed) sealing).response();
            var b64 = Base64.getEncoder();
            Responses.json(res, 200, new Sealed(b64.encodeToString(s.iv()), b64.encodeToString(s.ciphertext()),
                    b64.encodeToString(s.aad())));
        } finally {
            if (!sealed) {
                gateway.abort(opened.aad());
            }
        }
    }

    /**
     * Why this node is not ready for secure requests, for {@code /health/ready}; empty when
     * it is, or when it has no secure stack.
     */
    Optional<String> notReady() {
        return gateway.flatMap(SecureGateway::auditFailing).map(f -> "secure requests are refused: the audit log "
                + "cannot be written since " + f.since() + " (" + f.failedWrites() + " failed writes; " + f.reason()
                + ")");
    }

    private static SecureEnvelope envelope(ObjectNode body) {
        for (var name : body.properties()) {
            if (!java.util.Set.of("keyArn", "encryptedDataKey", "iv", "ciphertext", "aad").contains(name.getKey())) {
                throw ApiException.invalid(name.getKey(), "unknown envelope field '" + name.getKey() + "'");
            }
        }
        return new SecureEnvelope(Fields.requiredString(body, "keyArn"), base64(body, "encryptedDataKey"),
                base64(body, "iv"), base64(body, "ciphertext"), base64(body, "aad"));
    }

    private static byte[] base64(ObjectNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || !v.isTextual()) {
            throw ApiException.invalid(field, "'" + field + "' is required: a base64 string");
        }
        try {
            return Base64.getDecoder().decode(v.textValue());
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(field, "'" + field + "' is not valid base64");
        }
    }
}
