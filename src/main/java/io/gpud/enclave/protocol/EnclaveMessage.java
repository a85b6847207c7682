package io.gpud.enclave.protocol;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What crosses between the parent and the enclave, one message per frame, each a CBOR map
 * with an {@code op} and exactly the fields of its record. By construction nothing here
 * carries a data key: the parent sends the KMS answer as the CMS blob sealed to the
 * enclave's RSA key, and ciphertext; the enclave answers with payload plaintext (which the
 * inference worker must see, SPEC section 7) or sealed output.
 */
public sealed interface EnclaveMessage {

    /** Parent → enclave: an attestation document over the enclave's key and this nonce. */
    record AttestRequest(byte[] nonce) implements EnclaveMessage {
    }

    /** Enclave → parent: the COSE_Sign1 attestation document. */
    record AttestReply(byte[] document) implements EnclaveMessage {
    }

    /**
     * Parent → enclave: unwrap {@code cms} (KMS {@code CiphertextForRecipient}), then open
     * the tenant's AES-256-GCM payload under that key with {@code aad}. An empty {@code cms}
     * asks the enclave to use the data key it keeps for ({@code keyArn},
     * {@code encryptedDataKey}, the AAD's tenant and session); it answers
     * {@link Refusal} {@code uncached} when it keeps none, and the parent goes to KMS.
     */
    record OpenRequest(String requestId, String keyArn, byte[] encryptedDataKey, byte[] cms, byte[] iv,
                       byte[] ciphertext, byte[] aad) implements EnclaveMessage {
    }

    /** Enclave → parent: the request plaintext, for the inference worker. */
    record OpenReply(byte[] plaintext) implements EnclaveMessage {
    }

    /** Parent → enclave: seal this output for the tenant of an opened request; the key is then zeroed. */
    record SealRequest(String requestId, byte[] plaintext) implements EnclaveMessage {
    }

    /** Enclave → parent: the sealed output. */
    record SealReply(byte[] iv, byte[] ciphertext, byte[] aad) implements EnclaveMessage {
    }

    /** Parent → enclave: forget the key of a request that will not be sealed (it failed). */
    record Abort(String requestId) implements EnclaveMessage {
    }

    /** Enclave → parent: done, nothing to return (after {@link Abort}). */
    record Ack() implements EnclaveMessage {
    }

    /** Enclave → parent: refused; {@code code} is one of a few fixed words, never payload. */
    record Refusal(String code) implements EnclaveMessage {
    }

    /** Encodes a message as the CBOR map that travels in one frame. */
    static byte[] encode(EnclaveMessage m) {
        var map = new LinkedHashMap<String, Object>();
        switch (m) {
            case AttestRequest r -> {
                map.put("op", "attest");
                map.put("nonce", r.nonce());
            }
            case AttestReply r -> {
                map.put("op", "attested");
                map.put("document", r.document());
            }
            case OpenRequest r -> {
                map.put("op", "open");
                map.put("requestId", r.requestId());
                map.put("keyArn", r.keyArn());
                map.put("encryptedDataKey", r.encryptedDataKey());
                map.put("cms", r.cms());
                map.put("iv", r.iv());
                map.put("ciphertext", r.ciphertext());
                map.put("aad", r.aad());
            }
            case OpenReply r -> {
                map.put("op", "opened");
                map.put("plaintext", r.plaintext());
            }
            case SealRequest r -> {
                map.put("op", "seal");
                map.put("requestId", r.requestId());
                map.put("plaintext", r.plaintext());
            }
            case SealReply r -> {
                map.put("op", "sealed");
                map.put("iv", r.iv());
                map.put("ciphertext", r.ciphertext());
                map.put("aad", r.aad());
            }
            case Abort r -> {
                map.put("op", "abort");
                map.put("requestId", r.requestId());
            }
            case Ack r -> map.put("op", "ack");
            case Refusal r -> {
                map.put("op", "refused");
                map.put("code", r.code());
            }
        }
        return Cbor.encode(map);
    }

    /** Decodes one frame; anything but exactly one known message is a {@link ProtocolException}. */
    static EnclaveMessage decode(byte[] frame) {
        if (!(Cbor.decode(frame) instanceof Map<?, ?> map)) {
            throw new ProtocolException("enclave message is not a CBOR map");
        }
        var f = new Fields(map);
        String op = f.text("op");
        EnclaveMessage m = switch (op) {
            case "attest" -> new AttestRequest(f.bytes("nonce"));
            case "attested" -> new AttestReply(f.bytes("document"));
            case "open" -> new OpenRequest(f.text("requestId"), f.text("keyArn"), f.bytes("encryptedDataKey"),
                    f.bytes("cms"), f.bytes("iv"), f.bytes("ciphertext"), f.bytes("aad"));
            case "opened" -> new OpenReply(f.bytes("plaintext"));
            case "seal" -> new SealRequest(f.text("requestId"), f.bytes("plaintext"));
            case "sealed" -> new SealReply(f.bytes("iv"), f.bytes("ciphertext"), f.bytes("aad"));
            case "abort" -> new Abort(f.text("requestId"));
            case "ack" -> new Ack();
            case "refused" -> new Refusal(f.text("code"));
            default -> throw new ProtocolException("unknown enclave message op '" + op + "'");
        };
        f.requireExactly(Set.copyOf(f.read));
        return m;
    }

    /** Typed access to a decoded CBOR map with text keys, remembering which keys were read. */
    final class Fields {
        private final Map<?, ?> map;
        private final java.util.List<String> read = new java.util.ArrayList<>();

        Fields(Map<?, ?> map) {
            this.map = map;
        }

        String text(String key) {
            read.add(key);
            if (map.get(key) instanceof String s) {
                return s;
            }
            throw new ProtocolException("field '" + key + "' must be text");
        }

        byte[] bytes(String key) {
            read.add(key);
            if (map.get(key) instanceof byte[] b) {
                return b;
            }
            throw new ProtocolException("field '" + key + "' must be a byte string");
        }

        void requireExactly(Set<String> keys) {
            for (Object k : map.keySet()) {
                if (!keys.contains(k)) {
                    throw new ProtocolException("unexpected field '" + k + "'");
                }
            }
        }
    }
}
