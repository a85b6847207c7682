package io.gpud.enclave.crypto;

/**
 * Produces attestation documents for the enclave: the Nitro Security Module on Nitro
 * hardware, {@link LocalAttestor} in local mode.
 */
public interface Attestor {

    /** A COSE_Sign1 attestation document over {@code publicKey} (DER) and {@code nonce}. */
    byte[] attest(byte[] publicKey, byte[] nonce);
}
