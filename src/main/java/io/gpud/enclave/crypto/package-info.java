/**
 * The cryptography of the secure envelope, on Bouncy Castle FIPS in approved-only mode
 * ({@link io.gpud.enclave.crypto.Fips}): AES-256-GCM payload sealing
 * ({@link io.gpud.enclave.crypto.PayloadCipher}), CMS EnvelopedData for KMS
 * {@code CiphertextForRecipient} ({@link io.gpud.enclave.crypto.RecipientCms}), Nitro
 * attestation documents (COSE_Sign1/ES384) and their verification
 * ({@link io.gpud.enclave.crypto.AttestationVerifier}, {@link io.gpud.enclave.crypto.PcrPolicy}),
 * and the generated test PKI of local mode ({@link io.gpud.enclave.crypto.TestPki}).
 * Shared by the daemon and the enclave program. The daemon's mutual TLS between peers
 * ({@link io.gpud.enclave.crypto.PeerTls}) lives here too, as the one place that fixes the
 * FIPS provider and its mode.
 */
package io.gpud.enclave.crypto;
