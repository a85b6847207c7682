package io.gpud.enclave;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.PayloadCipher;
import io.gpud.enclave.protocol.EnvelopeAad;
import io.gpud.enclave.protocol.ProtocolException;
import java.io.IOException;
import java.net.URI;
import java.util.Base64;

/**
 * The tenant's side of the secure envelope, behind {@code gpud tenant seal|open}:
 * {@link #seal} asks KMS for a data key bound to (tenant, session), encrypts the
 * request with AES-256-GCM under it and returns the envelope JSON plus a key file (the
 * tenant keeps it to open the response); {@link #open} opens a sealed response with
 * that key file. A {@link DataKeySession} seals many requests under one data key, which
 * is what lets the enclave skip KMS after a session's first request. Everything is JSON
 * with base64 byte fields.
 */
public final class TenantTool {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TenantTool() {
    }

    /** What {@link #seal} produced: the envelope to POST, and the key file to keep (secret). */
    public record SealedRequest(byte[] envelopeJson, byte[] keyFileJson) {
    }

    /**
     * A data key for sealing many requests (one KMS {@code GenerateDataKey}, encryption
     * context {tenant, session}); the enclave keeps the key it unwraps for the first request
     * of a session, so the rest skip KMS. Start a new session (a new key) every few thousand
     * requests or minutes; the key is in memory: {@link #close} zeroes it.
     */
    public static final class DataKeySession implements AutoCloseable {
        private final String keyArn;
        private final String tenant;
        private final String session;
        private final byte[] dataKey;
        private final byte[] encryptedDataKey;

        private DataKeySession(String keyArn, String tenant, String session, byte[] dataKey, byte[] encryptedDataKey) {
            if (dataKey.length != PayloadCipher.KEY_BYTES || encryptedDataKey.length == 0) {
                PayloadCipher.zero(dataKey);
                throw new EnclaveException("a data key must be " + PayloadCipher.KEY_BYTES
                        + " bytes with its KMS-encrypted copy");
            }
            this.keyArn = keyArn;
            this.tenant = tenant;
            this.session = session;
            this.dataKey = dataKey;
            this.encryptedDataKey = encryptedDataKey;
        }

        /** Seals {@code requestJson} (which names its {@code model}) as request {@code requestId} of this session. */
        public SealedRequest seal(String requestId, byte[] requestJson) {
            JsonNode request = readJson(requestJson, "the request");
            String model = request.path("model").asText(null);
            if (model == null) {
                throw new EnclaveException("the request has no \"model\"");
            }
            EnvelopeAad aad;
            try {
                aad = new EnvelopeAad(tenant, keyArn, session, requestId, model, "request");
            } catch (ProtocolException e) {
                throw new EnclaveException(e.getMessage(), e);
            }
            try {
                byte[] aadBytes = aad.toBytes();
                PayloadCipher.Sealed sealed = PayloadCipher.seal(dataKey, requestJson, aadBytes, Fips.random());
                ObjectNode envelope = JSON.createObjectNode()
                        .put("keyArn", keyArn)
                        .put("encryptedDataKey", encryptedDataKey)
                        .put("iv", sealed.iv())
                        .put("ciphertext", sealed.ciphertext())
                        .put("aad", aadBytes);
                ObjectNode keyFile = JSON.createObjectNode()
                        .put("keyArn", keyArn)
                        .put("tenant", tenant)
                        .put("session", session)
                        .put("requestId", requestId)
                        .put("model", model)
                        .put("dataKey", dataKey)
                        .put("encryptedDataKey", encryptedDataKey);
                return new SealedRequest(JSON.writeValueAsBytes(envelope), JSON.writeValueAsBytes(keyFile));
            } catch (IOException e) {
                throw new EnclaveException("cannot write the envelope: " + e.getMessage(), e);
            }
        }

        /** The KMS key of this session's data key. */
        public String keyArn() {
            return keyArn;
        }

        /** The tenant the data key is bound to. */
        public String tenant() {
            return tenant;
        }

        @Override
        public void close() {
            PayloadCipher.zero(dataKey);
        }
    }

    /** Starts a session: KMS {@code GenerateDataKey} on {@code keyArn} with the context {tenant, session}. */
    public static DataKeySession openSession(URI kmsEndpoint, String region, boolean anonymous, String keyArn,
                                             String tenant, String session) {
        java.util.Map<String, String> context;
        try {
            context = EnvelopeAad.kmsContext(tenant, session);
        } catch (ProtocolException e) {
            throw new EnclaveException(e.getMessage(), e);
        }
        try (var kms = new KmsKeys(kmsEndpoint, region, anonymous)) {
            KmsKeys.DataKey key = kms.generateDataKey(keyArn, context);
            return new DataKeySession(keyArn, tenant, session, key.plaintext(), key.encrypted());
        }
    }

    /** Continues the session of an earlier request from its key file (no KMS call). */
    public static DataKeySession resumeSession(byte[] keyFileJson) {
        JsonNode keyFile = readJson(keyFileJson, "the key file");
        for (String field : new String[] {"keyArn", "tenant", "session"}) {
            if (!keyFile.path(field).isTextual()) {
                throw new EnclaveException("the key file lacks \"" + field + "\" (written by an older gpud?)");
            }
        }
        return new DataKeySession(keyFile.path("keyArn").asText(), keyFile.path("tenant").asText(),
                keyFile.path("session").asText(), bytes(keyFile, "dataKey", "the key file"),
                bytes(keyFile, "encryptedDataKey", "the key file"));
    }

    /**
     * Seals {@code requestJson} under a data key of its own (the request id is the session):
     * one KMS {@code GenerateDataKey} per request.
     *
     * @param kmsEndpoint KMS endpoint (local mode's, or a VPC endpoint); null for the regional one
     * @param anonymous   unsigned requests (local mode's endpoint)
     */
    public static SealedRequest seal(URI kmsEndpoint, String region, boolean anonymous, String keyArn, String tenant,
                                     String requestId, byte[] requestJson) {
        readJson(requestJson, "the request");
        try (var session = openSession(kmsEndpoint, region, anonymous, keyArn, tenant, requestId)) {
            return session.seal(requestId, requestJson);
        }
    }

    /** Opens a sealed response with the key file written by {@link #seal}; returns the response JSON. */
    public static byte[] open(byte[] keyFileJson, byte[] sealedResponseJson) {
        JsonNode keyFile = readJson(keyFileJson, "the key file");
        JsonNode sealed = readJson(sealedResponseJson, "the sealed response");
        if (sealed.has("error")) {
            throw new EnclaveException("the server refused the request: " + sealed.path("error").path("message").asText());
        }
        byte[] key = bytes(keyFile, "dataKey", "the key file");
        try {
            byte[] aadBytes = bytes(sealed, "aad", "the sealed response");
            EnvelopeAad aad = EnvelopeAad.parse(aadBytes);
            var expected = new EnvelopeAad(keyFile.path("tenant").asText(), keyFile.path("keyArn").asText(),
                    keyFile.path("session").asText(), keyFile.path("requestId").asText(), keyFile.path("model").asText(), "response");
            if (!aad.equals(expected)) {
                throw new EnclaveException("the response is not the response to this key file's request");
            }
            byte[] plain = PayloadCipher.open(key, bytes(sealed, "iv", "the sealed response"),
                    bytes(sealed, "ciphertext", "the sealed response"), aadBytes);
            if (plain == null) {
                throw new EnclaveException("the response does not decrypt under this key file (tampered or not ours)");
            }
            return plain;
        } catch (ProtocolException e) {
            throw new EnclaveException("the sealed response is malformed: " + e.getMessage(), e);
        } finally {
            PayloadCipher.zero(key);
        }
    }

    private static JsonNode readJson(byte[] bytes, String what) {
        try {
            JsonNode n = JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw new EnclaveException(what + " is not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new EnclaveException(what + " is not JSON: " + e.getMessage(), e);
        }
    }

    private static byte[] bytes(JsonNode n, String field, String what) {
        if (!n.path(field).isTextual()) {
            throw new EnclaveException(what + " lacks \"" + field + "\"");
        }
        try {
            return Base64.getDecoder().decode(n.path(field).asText());
        } catch (IllegalArgumentException e) {
            throw new EnclaveException(what + ": \"" + field + "\" is not base64");
        }
    }
}
