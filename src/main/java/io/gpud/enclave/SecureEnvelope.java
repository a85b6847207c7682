package io.gpud.enclave;

/**
 * A tenant's sealed request as it arrives on {@code /v1/secure/...} (base64 decoded):
 * AES-256-GCM under a data key from KMS {@code GenerateDataKey} on {@code keyArn}.
 *
 * @param keyArn           the tenant's KMS key
 * @param encryptedDataKey the KMS {@code CiphertextBlob} of the data key
 * @param iv               96-bit GCM IV
 * @param ciphertext       the request JSON, encrypted, tag appended
 * @param aad              the {@link io.gpud.enclave.protocol.EnvelopeAad} bytes
 */
public record SecureEnvelope(String keyArn, byte[] encryptedDataKey, byte[] iv, byte[] ciphertext, byte[] aad) {
}
