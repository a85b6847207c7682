package io.gpud.enclave.crypto;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The payload of a Nitro attestation document, after its signature and chain verified.
 *
 * @param moduleId    the enclave's id
 * @param timestamp   when the NSM signed it (milliseconds precision)
 * @param pcrs        PCR index → measurement (48 bytes for SHA-384)
 * @param certificate the signing leaf
 * @param cabundle    root first, then intermediates
 * @param publicKey   the enclave's key (DER SubjectPublicKeyInfo) KMS seals to; may be null
 * @param nonce       the caller's nonce; null when absent
 */
public record AttestationDocument(String moduleId, Instant timestamp, Map<Integer, byte[]> pcrs,
                                  X509Certificate certificate, List<X509Certificate> cabundle,
                                  byte[] publicKey, byte[] nonce) {
}
