package io.gpud.enclave;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.gpud.enclave.crypto.AttestationDocument;
import io.gpud.enclave.crypto.AttestationVerifier;
import io.gpud.enclave.crypto.CryptoException;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.PayloadCipher;
import io.gpud.enclave.crypto.PcrPolicy;
import io.gpud.enclave.crypto.RecipientCms;
import io.gpud.enclave.protocol.Cbor;
import io.gpud.enclave.protocol.ProtocolException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SequencedSet;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Local mode's KMS: an HTTP endpoint on loopback that speaks the KMS wire protocol
 * (awsJson1.1, {@code X-Amz-Target: TrentService.*}) for {@code GenerateDataKey} and
 * {@code Decrypt}, so the real AWS SDK and {@code gpud tenant seal} work against it.
 *
 * <p>Like KMS, {@code Decrypt} with a {@code Recipient} verifies the attestation document
 * (here to the local test root), enforces a PCR policy, refuses a replayed document
 * nonce, and answers only {@code CiphertextForRecipient}: real CMS EnvelopedData to the
 * document's public key. Master keys are AES-256, made on first use of a key ARN and kept
 * in memory; {@code CiphertextBlob} is this endpoint's own format (CBOR of the ARN, an IV
 * and the GCM-sealed data key, the encryption context as AAD). INSECURE: the keys live
 * in the daemon's process, which is exactly what production must never do.
 */
public final class LocalKms implements AutoCloseable {

    private static final Pattern KEY_ARN = Pattern.compile("arn:aws:kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]{1,64}");
    private static final int MAX_BODY_BYTES = 64 << 10;
    private static final int MAX_REMEMBERED_NONCES = 1 << 16;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final AttestationVerifier verifier;
    private final PcrPolicy policy;
    private final Clock clock;
    private final SecureRandom random = Fips.random();
    private final Map<String, byte[]> masterKeys = new ConcurrentHashMap<>();
    private final SequencedSet<String> seenNonces = new LinkedHashSet<>();

    private LocalKms(HttpServer server, AttestationVerifier verifier, PcrPolicy policy, Clock clock) {
        this.server = server;
        this.verifier = verifier;
        this.policy = policy;
        this.clock = clock;
    }

    /** Starts on {@code 127.0.0.1:port} (0 picks one). */
    public static LocalKms start(int port, AttestationVerifier verifier, PcrPolicy policy, Clock clock) {
        // The JDK server leaves Nagle on by default; with small request/response pairs that
        // meets the client's delayed ACK and adds ~40 ms per call. Read once, at first use.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
            var kms = new LocalKms(server, verifier, policy, clock);
            server.createContext("/", kms::handle);
            // Handlers run on the server's dispatcher thread: no hand-off to another thread per
            // call (each a wake-up that waits for a core when cores are busy). Calls are served
            // one at a time, which suits a loopback stand-in whose every call is a few
            // milliseconds of CPU; a client that stalls mid-body stalls the others until the
            // SDK's timeout closes it.
            server.setExecutor(null);
            server.start();
            return kms;
        } catch (IOException e) {
            throw new EnclaveException("cannot start the local KMS on 127.0.0.1:" + port + ": " + e.getMessage(), e);
        }
    }

    /** The endpoint to give the SDK. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** A KMS error: {@code __type} and message, status 400. */
    private static final class KmsError extends Exception {
        final String type;

        KmsError(String type, String message) {
            super(message, null, false, false);
            this.type = type;
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            ObjectNode reply;
            int status = 200;
            try {
                if (!"POST".equals(ex.getRequestMethod())) {
                    throw new KmsError("UnsupportedOperationException", "only POST");
                }
                String target = String.valueOf(ex.getRequestHeaders().getFirst("X-Amz-Target"));
                JsonNode body = readBody(ex.getRequestBody());
                reply = switch (target) {
                    case "TrentService.GenerateDataKey" -> generateDataKey(body);
                    case "TrentService.Decrypt" -> decrypt(body);
                    default -> throw new KmsError("UnsupportedOperationException", "operation " + target
                            + " is not served by the local KMS");
                };
            } catch (KmsError e) {
                status = 400;
                reply = JSON.createObjectNode().put("__type", e.type).put("message", e.getMessage());
            }
            byte[] out = JSON.writeValueAsBytes(reply);
            ex.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.1");
            ex.sendResponseHeaders(status, out.length);
            ex.getResponseBody().write(out);
        }
    }

    private static JsonNode readBody(InputStream in) throws IOException, KmsError {
        byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
        if (body.length > MAX_BODY_BYTES) {
            throw new KmsError("ValidationException", "request body over " + MAX_BODY_BYTES + " bytes");
        }
        try {
            JsonNode n = JSON.readTree(body);
            if (n == null || !n.isObject()) {
                throw new KmsError("SerializationException", "body must be a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new KmsError("SerializationException", "body is not JSON");
        }
    }

    private ObjectNode generateDataKey(JsonNode body) throws KmsError {
        String keyArn = keyArn(body.path("KeyId").asText(null));
        if (!"AES_256".equals(body.path("KeySpec").asText("AES_256"))) {
            throw new KmsError("ValidationException", "only KeySpec AES_256 is served");
        }
        Map<String, String> context = context(body);
        byte[] dataKey = new byte[PayloadCipher.KEY_BYTES];
        random.nextBytes(dataKey);
        byte[] master = masterKeys.computeIfAbsent(keyArn, k -> {
            byte[] m = new byte[PayloadCipher.KEY_BYTES];
            random.nextBytes(m);
            return m;
        });
        PayloadCipher.Sealed sealed = PayloadCipher.seal(master, dataKey, blobAad(keyArn, context), random);
        var blob = new LinkedHashMap<String, Object>();
        blob.put("keyArn", keyArn);
        blob.put("iv", sealed.iv());
        blob.put("ciphertext", sealed.ciphertext());
        ObjectNode reply = JSON.createObjectNode()
                .put("KeyId", keyArn)
                .put("CiphertextBlob", Cbor.encode(blob))
                .put("Plaintext", Base64.getEncoder().encodeToString(dataKey));
        PayloadCipher.zero(dataKey);
        return reply;
    }

    private ObjectNode decrypt(JsonNode body) throws KmsError {
        byte[] blobBytes = base64(body, "CiphertextBlob");
        String blobArn;
        byte[] iv;
        byte[] ct;
        try {
            if (!(Cbor.decode(blobBytes, new Cbor.Limits(2, 8)) instanceof Map<?, ?> m)
                    || !(m.get("keyArn") instanceof String a) || !(m.get("iv") instanceof byte[] i)
                    || !(m.get("ciphertext") instanceof byte[] c) || i.length != PayloadCipher.IV_BYTES) {
                throw new KmsError("InvalidCiphertextException", "ciphertext blob is malformed");
            }
            blobArn = a;
            iv = i;
            ct = c;
        } catch (ProtocolException e) {
            throw new KmsError("InvalidCiphertextException", "ciphertext blob is malformed");
        }
        if (body.hasNonNull("KeyId") && !body.get("KeyId").asText().equals(blobArn)) {
            throw new KmsError("IncorrectKeyException", "the ciphertext was not encrypted under the given KeyId");
        }
        byte[] master = masterKeys.get(blobArn);
        if (master == null) {
            throw new KmsError("NotFoundException", "key " + blobArn + " does not exist");
        }
        byte[] dataKey = PayloadCipher.open(master, iv, ct, blobAad(blobArn, context(body)));
        if (dataKey == null) {
            throw new KmsError("InvalidCiphertextException", "the ciphertext or encryption context is wrong");
        }
        try {
            JsonNode recipient = body.get("Recipient");
            ObjectNode reply = JSON.createObjectNode().put("KeyId", blobArn).put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
            if (recipient == null || recipient.isNull()) {
                return reply.put("Plaintext", Base64.getEncoder().encodeToString(dataKey));
            }
            PublicKey enclaveKey = attestedKey(recipient);
            return reply.put("CiphertextForRecipient", RecipientCms.envelope(dataKey, enclaveKey, new byte[20]));
        } finally {
            PayloadCipher.zero(dataKey);
        }
    }

    private PublicKey attestedKey(JsonNode recipient) throws KmsError {
        if (!"RSAES_OAEP_SHA_256".equals(recipient.path("KeyEncryptionAlgorithm").asText())) {
            throw new KmsError("ValidationException", "KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256");
        }
        byte[] doc = base64(recipient, "AttestationDocument");
        if (!(verifier.verify(doc, clock.instant(), null) instanceof AttestationVerifier.Verified(AttestationDocument d))) {
            throw new KmsError("AccessDeniedException", "the attestation document is not valid");
        }
        if (policy.check(d).isPresent()) {
            throw new KmsError("AccessDeniedException", "the enclave's measurements do not satisfy the key policy");
        }
        if (d.nonce() == null || d.publicKey() == null) {
            throw new KmsError("ValidationException", "the attestation document lacks a nonce or public key");
        }
        synchronized (seenNonces) {
            if (!seenNonces.add(HexFormat.of().formatHex(d.nonce()))) {
                throw new KmsError("AccessDeniedException", "the attestation document was already used");
            }
            if (seenNonces.size() > MAX_REMEMBERED_NONCES) {
                seenNonces.removeFirst();
            }
        }
        try {
            PublicKey key = KeyFactory.getInstance("RSA", Fips.provider()).generatePublic(new X509EncodedKeySpec(d.publicKey()));
            if (!(key instanceof java.security.interfaces.RSAPublicKey rsa) || rsa.getModulus().bitLength() < 2048) {
                throw new KmsError("ValidationException", "the attested public key must be RSA of at least 2048 bits");
            }
            return key;
        } catch (GeneralSecurityException | CryptoException e) {
            throw new KmsError("ValidationException", "the attested public key is malformed");
        }
    }

    private static String keyArn(String id) throws KmsError {
        if (id == null || !KEY_ARN.matcher(id).matches()) {
            throw new KmsError("NotFoundException", "KeyId must be a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)");
        }
        return id;
    }

    private static Map<String, String> context(JsonNode body) throws KmsError {
        var ctx = new TreeMap<String, String>();
        JsonNode c = body.get("EncryptionContext");
        if (c == null || c.isNull()) {
            return ctx;
        }
        if (!c.isObject() || c.size() > 64) {
            throw new KmsError("ValidationException", "EncryptionContext must be a map of strings");
        }
        for (var e : c.properties()) {
            if (!e.getValue().isTextual()) {
                throw new KmsError("ValidationException", "EncryptionContext values must be strings");
            }
            ctx.put(e.getKey(), e.getValue().asText());
        }
        return ctx;
    }

    private static byte[] blobAad(String keyArn, Map<String, String> context) {
        var m = new LinkedHashMap<String, Object>();
        m.put("keyArn", keyArn);
        m.put("context", new LinkedHashMap<>(new TreeMap<>(context)));
        return Cbor.encode(m);
    }

    private static byte[] base64(JsonNode node, String field) throws KmsError {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new KmsError("ValidationException", field + " is required");
        }
        try {
            return Base64.getDecoder().decode(v.asText().getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new KmsError("ValidationException", field + " is not base64");
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
