package io.gpud.enclave.protocol;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The additional authenticated data of a sealed request or response: who it belongs to
 * (tenant), under which KMS key and data-key session, for which request and model, and in
 * which direction. The AES-GCM tag covers these bytes, so a ciphertext cannot be replayed
 * under another tenant, key, session, request id or model, nor a response passed off as a
 * request. Encoded as a CBOR map in a fixed order; decoded strictly.
 *
 * <p>The KMS encryption context of the data key is {@link #kmsContext()}: tenant and
 * session. A session is the set of requests a tenant seals under one data key (one
 * {@code GenerateDataKey}); a tenant that makes a key per request uses the request id as
 * the session.
 *
 * @param tenant    the tenant's name, as in the KMS encryption context
 * @param keyArn    the KMS key the data key came from
 * @param session   the data key's session, as in the KMS encryption context
 * @param requestId single-use id chosen by the tenant
 * @param model     the model the request is for
 * @param direction {@code request} or {@code response}
 */
public record EnvelopeAad(String tenant, String keyArn, String session, String requestId, String model, String direction) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:/@+=-]{1,256}");
    private static final Set<String> KEYS = Set.of("tenant", "keyArn", "session", "requestId", "model", "direction");

    public EnvelopeAad {
        check("tenant", tenant);
        check("keyArn", keyArn);
        check("session", session);
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
        return new EnvelopeAad(tenant, keyArn, session, requestId, model, "response");
    }

    /** The bytes the GCM tag covers. */
    public byte[] toBytes() {
        var map = new LinkedHashMap<String, Object>();
        map.put("tenant", tenant);
        map.put("keyArn", keyArn);
        map.put("session", session);
        map.put("requestId", requestId);
        map.put("model", model);
        map.put("direction", direction);
        return Cbor.encode(map);
    }

    /** The KMS encryption context the data key was generated under: tenant and session, in that order. */
    public java.util.SequencedMap<String, String> kmsContext() {
        return kmsContext(tenant, session);
    }

    /** The KMS encryption context of a data key for {@code tenant}'s {@code session}; both are checked like the AAD's. */
    public static java.util.SequencedMap<String, String> kmsContext(String tenant, String session) {
        check("tenant", tenant);
        check("session", session);
        var context = new LinkedHashMap<String, String>();
        context.put("tenant", tenant);
        context.put("session", session);
        return context;
    }

    /** Parses AAD bytes strictly: a CBOR map of exactly the six text fields. */
    public static EnvelopeAad parse(byte[] bytes) {
        if (!(Cbor.decode(bytes, new Cbor.Limits(2, 16)) instanceof Map<?, ?> map) || !map.keySet().equals(KEYS)) {
            throw new ProtocolException("aad must be a CBOR map of exactly " + KEYS);
        }
        return new EnvelopeAad(text(map, "tenant"), text(map, "keyArn"), text(map, "session"), text(map, "requestId"), text(map, "model"),
                text(map, "direction"));
    }

    private static String text(Map<?, ?> map, String key) {
        if (map.get(key) instanceof String s) {
            return s;
        }
        throw new ProtocolException("aad." + key + " must be text");
    }
}
