package io.gpud.enclave.crypto;

import io.gpud.enclave.protocol.Cbor;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.List;

/**
 * The name of a data-key session: SHA-256 over the CBOR array [key ARN, encrypted data
 * key, tenant, session]. The enclave keys its cache of unwrapped data keys by it, and the
 * parent remembers by it which sessions to offer that cache first, so both name a session
 * the same way.
 */
public final class DataKeyIdentity {

    private DataKeyIdentity() {
    }

    /** The identity of the data key that KMS unwraps under this key, blob and context. */
    public static byte[] of(String keyArn, byte[] encryptedDataKey, String tenant, String session) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256", Fips.provider());
            return sha.digest(Cbor.encode(List.of(keyArn, encryptedDataKey, tenant, session)));
        } catch (GeneralSecurityException e) {
            throw new CryptoException("SHA-256 is unavailable: " + e.getMessage(), e);
        }
    }
}
