package io.gpud.enclave;

import io.gpud.audit.AuditException;
import io.gpud.audit.AuditLog;
import io.gpud.enclave.crypto.DataKeyIdentity;
import io.gpud.enclave.crypto.PayloadCipher;
import io.gpud.enclave.protocol.EnclaveMessage;
import io.gpud.enclave.protocol.EnvelopeAad;
import io.gpud.enclave.protocol.FrameChannel;
import io.gpud.enclave.protocol.ProtocolException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parent's side of the secure envelope: turns a tenant's sealed request into the
 * plaintext the inference worker needs, and the worker's output back into a sealed
 * response, without ever holding the tenant's data key.
 *
 * <h2>Threat model</h2>
 *
 * <p>Nitro Enclaves have no GPU, so inference runs in the parent. We therefore promise
 * less than "the parent never sees plaintext" (REQ-1.3.4), and say exactly what:
 * <ul>
 *   <li><b>Keys never reach the parent.</b> The tenant's data key leaves KMS only as
 *       {@code CiphertextForRecipient}, CMS sealed to an RSA key generated inside the
 *       enclave and bound to the enclave's measurements by its attestation document. The
 *       parent relays that blob and ciphertext; no message of the parent↔enclave protocol
 *       has a field that could carry a key, and a KMS answer with {@code Plaintext} is
 *       refused and audited. A compromised parent can ask the enclave to open requests
 *       it relays, but cannot decrypt anything the enclave has not been handed, nor reuse
 *       a request id (single use, enforced in the enclave, cached key or not).</li>
 *   <li><b>Payload plaintext does exist in the parent</b> while a request is served: the
 *       decrypted prompt and the generated output live in the inference worker's memory
 *       (Java heap strings and the engine's buffers). Byte buffers we own are zeroed after
 *       use; heap strings cannot be, and are not logged. A root attacker on the parent
 *       during a request can read that request's prompt and output. That is the residual
 *       risk of GPU inference outside the enclave.</li>
 *   <li><b>Binding.</b> The GCM AAD names tenant, key, data-key session, request id, model
 *       and direction; KMS's encryption context names tenant and session. A ciphertext
 *       moved to another tenant, key, session, request or model, or a response replayed as
 *       a request, fails its tag or KMS's check.</li>
 *   <li><b>Data-key sessions and the enclave's key cache.</b> A tenant may seal many
 *       requests under one data key (one {@code GenerateDataKey}, context {tenant,
 *       session}). The enclave keeps each key it unwrapped, inside the enclave only, named by
 *       (key ARN, encrypted data key, tenant, session), so a session's later requests skip
 *       attestation, KMS and the RSA unwrap. What that changes: one KMS {@code Decrypt}
 *       (one CloudTrail record, one key-policy decision) now authorizes up to
 *       {@code maxUses} requests during up to {@code ttl} (defaults 10,000 and 5 minutes);
 *       a tenant who disables the key or revokes the grant stops new sessions at once, but
 *       requests under an already cached key keep opening until the entry expires. A key
 *       stays in enclave memory that long instead of for one request; eviction, expiry and
 *       shutdown zero it. What it does not change: the parent still never sees a key (the
 *       cached path sends no CMS, and the reply is plaintext or a refusal word); every
 *       cached-key request is still checked for replay, AAD and tag; a key is kept only
 *       after it opened a request naming that tenant and session; and a parent that claims
 *       another blob, tenant or session misses and is sent to KMS. The enclave's audit
 *       trail records which requests used a cached key.</li>
 *   <li><b>Attestation documents made ahead.</b> The documents a request hands KMS are
 *       fetched and verified by the {@link AttestationPool} before the request comes, each
 *       over a fresh nonce of ours. Each is handed to one request only and dropped unused
 *       once its timestamp is older than a short bound (30 seconds at most); KMS verifies
 *       it again and refuses a nonce it has seen. A document proves what the enclave was
 *       when it signed, and the enclave's key does not change while it runs, so an early
 *       document binds KMS's answer to the same key a just-made one would.</li>
 *   <li><b>What we trust.</b> KMS's key policy (PCR conditions) is the real gate; the parent
 *       verifies the same attestation document first (chain to the pinned AWS Nitro root,
 *       freshness, its own nonce, PCR allow-list, never debug mode) so it fails early and
 *       audibly rather than sending a document KMS would refuse.</li>
 *   <li><b>Local mode</b> keeps the protocol but none of the guarantees: its test PKI and
 *       KMS run in the parent. It is refused when the configuration says production.</li>
 * </ul>
 *
 * <h2>Flow of one request</h2>
 * {@link #open}: parse the AAD; if this gateway saw the session's data key unwrapped
 * before, offer the ciphertext to the enclave without a key, which opens it if it still
 * keeps that key; otherwise take a verified single-use attestation document over a fresh
 * nonce (from the {@link AttestationPool}, or asked for now); KMS {@code Decrypt} with
 * {@code KeyId}, the context {tenant, session} and the document as {@code Recipient}; hand
 * the CMS blob and the ciphertext to the enclave, which answers with the request plaintext.
 * {@link #seal}: hand the output to the enclave, which seals it and zeroes the key.
 * {@link #abort}: the enclave zeroes the key of a request that will not be sealed.
 * Every step writes an audit record: who, which key, which request, what outcome; the
 * first, {@code secure.request}, before anything else is done, so a request is never
 * served without its records.
 *
 * <p>Refusals are values: {@link Refused} carries an HTTP status and a reason that is the
 * same for every cryptographic failure, so a caller cannot tell a bad tag from a wrong key
 * or a replay. The precise reason goes to the audit log. An enclave or KMS that cannot be
 * reached (or does not answer in time, or KMS failing or throttling) while a request is
 * being opened is a 503, audited and logged with the cause; the request id is spent if the
 * enclave got as far as opening it. After the request was opened, a seal that fails is a
 * 500: the id is spent, and the tenant seals the request again under a new one.
 *
 * <p>An audit record that cannot be written (a full disk) refuses the request with 503
 * ({@link #AUDIT_UNAVAILABLE}): the operation it records does not proceed, or, when the
 * enclave had already opened the request, the plaintext is zeroed, the enclave drops the
 * key and nothing is returned. Since {@code secure.request} is written first, a request
 * refused on a disk that was already full spent nothing and can be sent again as it was;
 * one the disk filled under in mid-flight had its id spent. {@link #auditFailing} says
 * why the node is not ready for secure requests meanwhile.
 */
public final class SecureGateway {

    private static final Logger LOG = LoggerFactory.getLogger(SecureGateway.class);

    private static final byte[] NO_CMS = new byte[0];
    private static final String UNCACHED = "uncached";

    /** What {@link #open} came to. */
    public sealed interface Opening {
    }

    /** The request plaintext, for the inference worker; zero it after parsing. */
    public record Opened(EnvelopeAad aad, byte[] plaintext) implements Opening {
    }

    /** Refused; {@code publicReason} is safe to send to the caller. */
    public record Refused(int status, String publicReason) implements Opening, Sealing {
    }

    /** What {@link #seal} came to. */
    public sealed interface Sealing {
    }

    /** The sealed output. */
    public record Sealed(SealedResponse response) implements Sealing {
    }

    static final String CANNOT_OPEN = "the envelope could not be opened";
    static final String ENCLAVE_UNAVAILABLE = "the enclave is unavailable";
    static final String KMS_UNAVAILABLE = "the key service is unavailable";
    static final String CANNOT_SEAL = "the response could not be sealed; send the request again under a new request id";
    static final String AUDIT_UNAVAILABLE = "the audit log cannot be written on this node, so it serves no secure "
            + "request until it can; send the request again later or to another node";
    static final String AUDIT_UNAVAILABLE_AFTER_OPEN = "the audit log cannot be written on this node, so the response "
            + "was withheld; send the request again under a new request id, later or to another node";

    private final FrameChannel enclave;
    private final KmsKeys kms;
    private final AttestationPool attestations;
    private final AuditLog audit;
    private final SeenSessions sessions = new SeenSessions();

    /**
     * @param enclave      the channel to the enclave program
     * @param kms          KMS (or local mode's endpoint)
     * @param attestations where verified attestation documents come from (owned by the caller)
     * @param audit        where every operation is recorded
     */
    SecureGateway(FrameChannel enclave, KmsKeys kms, AttestationPool attestations, AuditLog audit) {
        this.enclave = enclave;
        this.kms = kms;
        this.attestations = attestations;
        this.audit = audit;
    }

    /** Opens a tenant's envelope; see the class comment for the steps. */
    public Opening open(SecureEnvelope envelope) {
        attestations.requestStarted();
        boolean keyHeld = false;
        try {
            Opening opening = openTracked(envelope);
            keyHeld = opening instanceof Opened;
            return opening;
        } catch (AuditException e) {
            return new Refused(503, AUDIT_UNAVAILABLE);
        } finally {
            if (!keyHeld) {
                attestations.requestEnded();
            }
        }
    }

    private Opening openTracked(SecureEnvelope envelope) {
        EnvelopeAad aad;
        try {
            aad = EnvelopeAad.parse(envelope.aad());
        } catch (ProtocolException e) {
            audit.append("secure.open", Map.of("keyArn", safe(envelope.keyArn()), "outcome", "refused",
                    "reason", "malformed aad"));
            return new Refused(400, "the envelope's aad is malformed");
        }
        Map<String, String> who = who(aad);
        audit.append("secure.request", with(who, "outcome", "received"));
        try {
            return openParsed(envelope, aad, who);
        } catch (EnclaveException e) {
            return unavailable("secure.open", who, e);
        }
    }

    private Opening openParsed(SecureEnvelope envelope, EnvelopeAad aad, Map<String, String> who) {
        if (!aad.direction().equals("request") || !aad.keyArn().equals(envelope.keyArn())) {
            return refuse(who, "aad does not match the envelope's key or is not a request");
        }
        if (envelope.iv().length != PayloadCipher.IV_BYTES || envelope.ciphertext().length < PayloadCipher.TAG_BYTES) {
            return refuse(who, "iv or ciphertext has the wrong length");
        }
        ByteBuffer session = ByteBuffer.wrap(DataKeyIdentity.of(aad.keyArn(), envelope.encryptedDataKey(),
                aad.tenant(), aad.session()));
        if (sessions.seen(session)) {
            var cached = call(new EnclaveMessage.OpenRequest(aad.requestId(), envelope.keyArn(),
                    envelope.encryptedDataKey(), NO_CMS, envelope.iv(), envelope.ciphertext(), envelope.aad()));
            if (cached instanceof EnclaveMessage.OpenReply(byte[] plaintext)) {
                return opened(aad, who, plaintext, "cached in the enclave");
            }
            if (!(cached instanceof EnclaveMessage.Refusal(String c) && c.equals(UNCACHED))) {
                return refuse(who, "enclave refused: " + code(cached));
            }
        }
        byte[] document;
        switch (attestations.take(enclave)) {
            case AttestationPool.Unavailable(String reason) -> {
                audit.append("secure.attest", with(with(who, "outcome", "rejected"), "reason", reason));
                return new Refused(503, ENCLAVE_UNAVAILABLE);
            }
            case AttestationPool.Attested a -> {
                document = a.document();
                audit.append("secure.attest", with(with(who, "outcome", "verified"), "timestamp", a.timestamp().toString()));
            }
        }
        KmsKeys.RecipientAnswer answer;
        try {
            answer = kms.decryptForRecipient(envelope.keyArn(), envelope.encryptedDataKey(), aad.kmsContext(), document);
        } catch (EnclaveException e) {
            recordUnreachable("kms.decrypt", who, e);
            return new Refused(503, KMS_UNAVAILABLE);
        }
        byte[] cms;
        switch (answer) {
            case KmsKeys.ForRecipient(byte[] blob) -> {
                cms = blob;
                audit.append("kms.decrypt", with(who, "outcome", "ciphertext-for-recipient"));
            }
            case KmsKeys.PlaintextRefused p -> {
                audit.append("kms.decrypt", with(who, "outcome", "refused: answer carried Plaintext"));
                return new Refused(502, "the key service answered unsafely");
            }
            case KmsKeys.Denied(String code) -> {
                return refuse(who, "kms denied: " + code);
            }
        }
        var reply = call(new EnclaveMessage.OpenRequest(aad.requestId(), envelope.keyArn(), envelope.encryptedDataKey(),
                cms, envelope.iv(), envelope.ciphertext(), envelope.aad()));
        if (reply instanceof EnclaveMessage.OpenReply(byte[] plaintext)) {
            sessions.remember(session);
            return opened(aad, who, plaintext, "unwrapped from KMS");
        }
        return refuse(who, "enclave refused: " + code(reply));
    }

    /**
     * Records the opening, then hands out the plaintext; when the record cannot be written,
     * zeroes the plaintext and has the enclave drop the key instead.
     */
    private Opened opened(EnvelopeAad aad, Map<String, String> who, byte[] plaintext, String dataKey) {
        try {
            audit.append("enclave.open", with(with(who, "outcome", "opened"), "dataKey", dataKey));
        } catch (AuditException e) {
            PayloadCipher.zero(plaintext);
            dropKey(aad);
            throw e;
        }
        return new Opened(aad, plaintext);
    }

    private static String code(EnclaveMessage reply) {
        return reply instanceof EnclaveMessage.Refusal(String c) ? c : "unexpected reply";
    }

    /**
     * Seals the output of an opened request; the enclave then forgets its key. A seal whose
     * record cannot be written is withheld.
     */
    public Sealing seal(EnvelopeAad aad, byte[] output) {
        try {
            return sealRecorded(aad, output);
        } catch (AuditException e) {
            return new Refused(503, AUDIT_UNAVAILABLE_AFTER_OPEN);
        }
    }

    private Sealing sealRecorded(EnvelopeAad aad, byte[] output) {
        EnclaveMessage reply;
        try {
            reply = call(new EnclaveMessage.SealRequest(aad.requestId(), output));
        } catch (EnclaveException e) {
            // Not a 503 to retry: the request id is spent (the enclave burned it when it opened).
            recordUnreachable("enclave.seal", who(aad), e);
            return new Refused(500, CANNOT_SEAL);
        } finally {
            attestations.requestEnded();
        }
        if (reply instanceof EnclaveMessage.SealReply(byte[] iv, byte[] ct, byte[] responseAad)) {
            audit.append("enclave.seal", with(who(aad), "outcome", "sealed"));
            return new Sealed(new SealedResponse(iv, ct, responseAad));
        }
        audit.append("enclave.seal", with(with(who(aad), "outcome", "refused"), "reason", code(reply)));
        return new Refused(500, CANNOT_SEAL);
    }

    /**
     * The request will not be sealed (inference failed): the enclave zeroes its key. An
     * enclave that cannot be reached is audited; it drops the key itself when the request
     * has been open too long.
     */
    public void abort(EnvelopeAad aad) {
        try {
            dropKey(aad);
        } finally {
            attestations.requestEnded();
        }
    }

    /**
     * Has the enclave zero a request's key. Never throws: it runs on the way out of a
     * request that failed, and must not hide why; an audit record it cannot write is
     * counted and logged by the audit log.
     */
    private void dropKey(EnvelopeAad aad) {
        try {
            try {
                call(new EnclaveMessage.Abort(aad.requestId()));
            } catch (EnclaveException e) {
                recordUnreachable("enclave.abort", who(aad), e);
                return;
            }
            audit.append("enclave.abort", with(who(aad), "outcome", "key zeroed"));
        } catch (AuditException e) {
            LOG.debug("secure request {}: the abort is not recorded: {}", aad.requestId(), e.getMessage());
        }
    }

    /** Why secure requests are refused for want of an audit log; empty while records can be written. */
    public Optional<AuditLog.Failing> auditFailing() {
        return audit.failing();
    }

    private Refused unavailable(String operation, Map<String, String> who, EnclaveException e) {
        recordUnreachable(operation, who, e);
        return new Refused(503, ENCLAVE_UNAVAILABLE);
    }

    private void recordUnreachable(String operation, Map<String, String> who, EnclaveException e) {
        audit.append(operation, with(with(who, "outcome", "unavailable"), "reason", e.getMessage()));
        LOG.warn("secure request {}: {}", who.get("requestId"), e.getMessage());
    }

    private EnclaveMessage call(EnclaveMessage m) {
        try {
            return EnclaveMessage.decode(enclave.call(EnclaveMessage.encode(m)));
        } catch (IOException e) {
            throw new EnclaveException("the enclave cannot be reached: " + e.getMessage(), e);
        } catch (ProtocolException e) {
            throw new EnclaveException("the enclave answered outside the protocol: " + e.getMessage(), e);
        }
    }

    private Refused refuse(Map<String, String> who, String reason) {
        audit.append("secure.open", with(with(who, "outcome", "refused"), "reason", reason));
        return new Refused(403, CANNOT_OPEN);
    }

    private static Map<String, String> who(EnvelopeAad aad) {
        var m = new LinkedHashMap<String, String>();
        m.put("tenant", aad.tenant());
        m.put("keyArn", aad.keyArn());
        m.put("session", aad.session());
        m.put("requestId", aad.requestId());
        m.put("model", aad.model());
        return m;
    }

    private static Map<String, String> with(Map<String, String> m, String k, String v) {
        var copy = new LinkedHashMap<>(m);
        copy.put(k, v);
        return copy;
    }

    /**
     * Sessions (named by {@link DataKeyIdentity}, as the enclave names the keys it keeps)
     * whose data key the enclave unwrapped through this gateway lately: only
     * these are first offered to the enclave's key cache, so a request under a new data
     * key goes straight to KMS instead of spending a round trip to learn that the key is
     * not cached. A hint, not a security decision: a wrong guess costs one round trip or
     * one KMS call, and the enclave decides what it holds. Bounded, oldest forgotten.
     */
    private static final class SeenSessions {
        private static final int MAX = 4096;
        private final SequencedSet<ByteBuffer> names = new LinkedHashSet<>();

        synchronized boolean seen(ByteBuffer name) {
            return names.contains(name);
        }

        synchronized void remember(ByteBuffer name) {
            names.add(name);
            if (names.size() > MAX) {
                names.removeFirst();
            }
        }
    }

    private static String safe(String s) {
        return s == null ? "" : s.length() > 256 ? s.substring(0, 256) : s;
    }
}
