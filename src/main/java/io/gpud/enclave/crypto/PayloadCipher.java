package io.gpud.enclave.crypto;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM over tenant payloads: 256-bit keys only, 96-bit IVs, 128-bit tags. A
 * failed tag is a value ({@code null}), because a tampered or mis-addressed ciphertext is
 * an outcome callers must expect.
 */
public final class PayloadCipher {

    public static final int KEY_BYTES = 32;
    public static final int IV_BYTES = 12;
    public static final int TAG_BYTES = 16;

    private PayloadCipher() {
    }

    /** The IV and ciphertext (with tag appended) of {@code plaintext}. */
    public record Sealed(byte[] iv, byte[] ciphertext) {
    }

    /** Encrypts under a fresh random IV. */
    public static Sealed seal(byte[] key, byte[] plaintext, byte[] aad, SecureRandom random) {
        checkKey(key);
        byte[] iv = new byte[IV_BYTES];
        random.nextBytes(iv);
        try {
            Cipher c = cipher(Cipher.ENCRYPT_MODE, key, iv);
            c.updateAAD(aad);
            return new Sealed(iv, c.doFinal(plaintext));
        } catch (GeneralSecurityException e) {
            throw new CryptoException("AES-GCM encryption failed: " + e.getMessage(), e);
        }
    }

    /** The plaintext, or null when the tag does not verify (tampered, truncated, wrong key or AAD). */
    public static byte[] open(byte[] key, byte[] iv, byte[] ciphertext, byte[] aad) {
        checkKey(key);
        if (iv.length != IV_BYTES) {
            throw new CryptoException("iv is " + iv.length + " bytes, must be " + IV_BYTES);
        }
        if (ciphertext.length < TAG_BYTES) {
            return null;
        }
        try {
            Cipher c = cipher(Cipher.DECRYPT_MODE, key, iv);
            c.updateAAD(aad);
            return c.doFinal(ciphertext);
        } catch (AEADBadTagException e) {
            return null;
        } catch (GeneralSecurityException e) {
            throw new CryptoException("AES-GCM decryption failed: " + e.getMessage(), e);
        }
    }

    private static Cipher cipher(int mode, byte[] key, byte[] iv) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding", Fips.provider());
        c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BYTES * 8, iv));
        return c;
    }

    private static void checkKey(byte[] key) {
        if (key == null || key.length != KEY_BYTES) {
            throw new CryptoException("data key is " + (key == null ? "missing" : key.length + " bytes")
                    + ", must be " + KEY_BYTES + " (AES-256)");
        }
    }

    /** Overwrites a key or plaintext buffer. */
    public static void zero(byte[] secret) {
        if (secret != null) {
            Arrays.fill(secret, (byte) 0);
        }
    }
}
