package io.gpud.enclave;

/**
 * A response sealed for the tenant under the request's data key, AAD marking it as the
 * response to that request.
 *
 * @param iv         96-bit GCM IV
 * @param ciphertext the response JSON, encrypted, tag appended
 * @param aad        the response {@link io.gpud.enclave.protocol.EnvelopeAad} bytes
 */
public record SealedResponse(byte[] iv, byte[] ciphertext, byte[] aad) {
}
