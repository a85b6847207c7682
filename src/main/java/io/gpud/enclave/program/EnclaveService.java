package io.gpud.enclave.program;

import io.gpud.enclave.crypto.Attestor;
import io.gpud.enclave.crypto.CryptoException;
import io.gpud.enclave.crypto.DataKeyIdentity;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.PayloadCipher;
import io.gpud.enclave.crypto.RecipientCms;
import io.gpud.enclave.protocol.EnclaveMessage;
import io.gpud.enclave.protocol.EnvelopeAad;
import io.gpud.enclave.protocol.ProtocolException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SequencedSet;
import java.util.function.LongSupplier;

/**
 * What the enclave does with each frame, one method per message. The design in brief:
 *
 * <p>At boot the enclave makes an RSA-2048 key that never leaves it. The parent asks for
 * attestation documents over that key's public half and its own nonce, and hands one to
 * KMS as the {@code Recipient} of {@code Decrypt}; KMS checks the PCRs against the key
 * policy and answers with the data key sealed to that public key (CMS). The parent passes
 * the CMS blob and the tenant's ciphertext here: the enclave unwraps the key, checks that
 * the AAD names this request and key, opens the payload, and keeps the key only until the
 * response is sealed (or the request aborted), then zeroes it.
 *
 * <p>A tenant may seal many requests under one data key (a session). The enclave keeps the
 * keys it unwrapped in a {@link DataKeyCache}, bounded in time, uses and count, so the
 * parent first sends {@code open} without a CMS blob; on a cached key the request opens at
 * the cost of AES-GCM alone, otherwise the enclave answers {@code uncached} (burning
 * nothing) and the parent fetches the blob from KMS. The key never leaves the enclave
 * either way.
 *
 * <p>Request ids are single use: an id is burned when an {@code open} with a key to try
 * arrives (a CMS blob, or a cached key), whether or not it succeeds, so a captured
 * envelope cannot be replayed to this enclave, cached key or not. The set of burned ids is
 * bounded ({@link #MAX_REMEMBERED_IDS}); beyond that the oldest are forgotten, so tenants
 * must not reuse an id.
 *
 * <p>An open request whose seal or abort never comes (the parent restarted, or gave up on a
 * call) would hold its key and a place among the {@link #MAX_OPEN} for ever. When the
 * places are full, requests open longer than {@link #OPEN_TTL_NANOS} are dropped and their
 * keys zeroed before a new one is refused as busy.
 */
final class EnclaveService {

    /** Open requests (keys held) at most; more are refused as busy. */
    static final int MAX_OPEN = 1024;
    /** An open request older than this (30 minutes: far past any generation) may be dropped to make room. */
    static final long OPEN_TTL_NANOS = 30L * 60 * 1_000_000_000L;
    /** Request ids remembered for replay protection. */
    static final int MAX_REMEMBERED_IDS = 1 << 20;

    private record Session(byte[] key, EnvelopeAad aad, long openedAtNanos) {
    }

    private final KeyPair rsa;
    private final Attestor attestor;
    private final SecureRandom random = Fips.random();
    private final SequencedSet<String> burnedIds = new LinkedHashSet<>();
    private final Map<String, Session> open = new HashMap<>();
    private final DataKeyCache keys;
    private final LongSupplier nanoTime;

    EnclaveService(Attestor attestor, DataKeyCache keys) {
        this(attestor, keys, System::nanoTime);
    }

    /** @param nanoTime a monotonic clock ({@code System::nanoTime}), for the age of open requests */
    EnclaveService(Attestor attestor, DataKeyCache keys, LongSupplier nanoTime) {
        this.attestor = attestor;
        this.keys = keys;
        this.nanoTime = nanoTime;
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", Fips.provider());
            g.initialize(new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4), random);
            this.rsa = g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new CryptoException("cannot generate the enclave's RSA-2048 key: " + e.getMessage(), e);
        }
    }

    /** Answers one frame; never throws for bad input. */
    byte[] handle(byte[] frame) {
        EnclaveMessage reply;
        try {
            reply = switch (EnclaveMessage.decode(frame)) {
                case EnclaveMessage.AttestRequest r -> attest(r);
                case EnclaveMessage.OpenRequest r -> open(r);
                case EnclaveMessage.SealRequest r -> seal(r);
                case EnclaveMessage.Abort r -> abort(r);
                default -> new EnclaveMessage.Refusal("unexpected");
            };
        } catch (ProtocolException e) {
            reply = new EnclaveMessage.Refusal("malformed");
        }
        return EnclaveMessage.encode(reply);
    }

    private EnclaveMessage attest(EnclaveMessage.AttestRequest r) {
        if (r.nonce().length < 16 || r.nonce().length > 64) {
            return new EnclaveMessage.Refusal("malformed");
        }
        return new EnclaveMessage.AttestReply(attestor.attest(rsa.getPublic().getEncoded(), r.nonce()));
    }

    private EnclaveMessage open(EnclaveMessage.OpenRequest r) {
        EnvelopeAad aad;
        try {
            aad = EnvelopeAad.parse(r.aad());
        } catch (ProtocolException e) {
            return new EnclaveMessage.Refusal("aad");
        }
        if (!aad.direction().equals("request") || !aad.requestId().equals(r.requestId())
                || !aad.keyArn().equals(r.keyArn())) {
            return new EnclaveMessage.Refusal("aad");
        }
        byte[] identity = DataKeyIdentity.of(aad.keyArn(), r.encryptedDataKey(), aad.tenant(), aad.session());
        boolean fromKms = r.cms().length > 0;
        byte[] key = fromKms ? null : keys.take(identity);
        if (!fromKms && key == null) {
            return new EnclaveMessage.Refusal("uncached");
        }
        synchronized (this) {
            boolean fresh = burnedIds.add(r.requestId());
            if (burnedIds.size() > MAX_REMEMBERED_IDS) {
                burnedIds.removeFirst();
            }
            if (fresh && open.size() >= MAX_OPEN) {
                dropAbandoned();
            }
            if (!fresh || open.size() >= MAX_OPEN) {
                PayloadCipher.zero(key);
                return new EnclaveMessage.Refusal(fresh ? "busy" : "replay");
            }
        }
        if (fromKms) {
            try {
                key = RecipientCms.unwrap(r.cms(), rsa.getPrivate());
            } catch (CryptoException e) {
                return new EnclaveMessage.Refusal("cms");
            }
        }
        if (key.length != PayloadCipher.KEY_BYTES || r.iv().length != PayloadCipher.IV_BYTES) {
            PayloadCipher.zero(key);
            return new EnclaveMessage.Refusal("algorithm");
        }
        byte[] plaintext = PayloadCipher.open(key, r.iv(), r.ciphertext(), r.aad());
        if (plaintext == null) {
            PayloadCipher.zero(key);
            return new EnclaveMessage.Refusal("decrypt");
        }
        if (fromKms) {
            keys.put(identity, key.clone());
        }
        synchronized (this) {
            open.put(r.requestId(), new Session(key, aad, nanoTime.getAsLong()));
        }
        return new EnclaveMessage.OpenReply(plaintext);
    }

    /** Zeroes and forgets the open requests older than {@link #OPEN_TTL_NANOS}. */
    private void dropAbandoned() {
        long now = nanoTime.getAsLong();
        open.values().removeIf(s -> {
            boolean abandoned = now - s.openedAtNanos() > OPEN_TTL_NANOS;
            if (abandoned) {
                PayloadCipher.zero(s.key());
            }
            return abandoned;
        });
    }

    private EnclaveMessage seal(EnclaveMessage.SealRequest r) {
        Session s;
        synchronized (this) {
            s = open.remove(r.requestId());
        }
        if (s == null) {
            return new EnclaveMessage.Refusal("unknown-request");
        }
        try {
            byte[] aad = s.aad().response().toBytes();
            PayloadCipher.Sealed sealed = PayloadCipher.seal(s.key(), r.plaintext(), aad, random);
            return new EnclaveMessage.SealReply(sealed.iv(), sealed.ciphertext(), aad);
        } finally {
            PayloadCipher.zero(s.key());
        }
    }

    private EnclaveMessage abort(EnclaveMessage.Abort r) {
        Session s;
        synchronized (this) {
            s = open.remove(r.requestId());
        }
        if (s != null) {
            PayloadCipher.zero(s.key());
        }
        return new EnclaveMessage.Ack();
    }

    /** Zeroes every key held: cached ones and those of open requests (at shutdown). */
    synchronized void forgetKeys() {
        keys.clear();
        open.values().forEach(s -> PayloadCipher.zero(s.key()));
        open.clear();
    }

    /** Data keys kept for later requests of their session right now. */
    int cachedKeys() {
        return keys.size();
    }

    /** Keys held right now (tests). */
    synchronized int openCount() {
        return open.size();
    }
}
