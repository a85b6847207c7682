package io.gpud.enclave.protocol;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The additional authenticated data of a sealed request or response: who it belongs to
 * (tenant), under which KMS key, for which request and model, and in which direction. The
 * AES-GCM tag covers these bytes, so a ciphertext cannot be replayed under another
 * tenant, key, request id or model, nor a response passed off as a request. Encoded as a
 * CBOR map in a fixed order; decoded strictly.
 *
 * @param tenant    the tenant's name, as in the KMS encryption context
 * @param keyArn    the KMS key the data key came from
 * @param requestId single-use id chosen by the tenant, also in the encryption context
 * @param model     the model the request is for
 * @param direction {@code request} or {@code response}
 */
public record EnvelopeAad(String tenant, String keyArn, String requestId, String model, String direction) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:/@+=-]{1,256}");
    private static final Set<String> KEYS = Set.of("tenant", "keyArn", "requestId", "model", "direction");

    public EnvelopeAad {
        check("tenant", tenant);
        check("keyArn", keyArn);
        check("requestId", requestId);
        check("model", model);
        if (!"request".equals(direction) && !"response".equals(direction)) {
            throw new ProtocolException("aad.direction was '" + direction + "', must be request or response");
        }
    }

    private static void check(String field, String value) {
        if (value == null || !ID.matcher(value).matches()) {
            throw new ProtocolException("aad." + field + " is missing or not 1-256 characters of [A-Za-z0-9._:/@+=-]");
        }
    }

    /** The same request, response direction. */
    public EnvelopeAad response() {
        return new EnvelopeAad(tenant, keyArn, requestId, model, "response");
    }

    /** The bytes the GCM tag covers. */
    public byte[] toBytes() {
        var map = new LinkedHashMap<String, Object>();
        map.put("tenant", tenant);
        map.put("keyArn", keyArn);
        map.put("requestId", requestId);
        map.put("model", model);
        map.put("direction", direction);
        return Cbor.encode(map);
    }

    /** Parses AAD bytes strictly: a CBOR map of exactly the five text fields. */
    public static EnvelopeAad parse(byte[] bytes) {
        if (!(Cbor.decode(bytes, new Cbor.Limits(2, 16)) instanceof Map<?, ?> map) || !map.keySet().equals(KEYS)) {
            throw new ProtocolException("aad must be a CBOR map of exactly " + KEYS);
        }
        return new EnvelopeAad(text(map, "tenant"), text(map, "keyArn"), text(map, "requestId"), text(map, "model"),
                text(map, "direction"));
    }

    private static String text(Map<?, ?> map, String key) {
        if (map.get(key) instanceof String s) {
            return s;
        }
        throw new ProtocolException("aad." + key + " must be text");
    }
}
