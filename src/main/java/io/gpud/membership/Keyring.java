package io.gpud.membership;

import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.random.RandomGenerator;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The gossip keys: AES-256-GCM, one primary that seals every outgoing packet, any number
 * of others that are still accepted. Immutable; a rotation builds a new keyring.
 *
 * <p>Rotation without a partition, as an operator runs it on every node: install the new
 * key (every node now accepts it), use it (nodes seal with it; all still accept the old),
 * remove the old one. At no step does a node send what another cannot open.
 *
 * <p>Sealed packet: {@code 0x01 | nonce (12) | ciphertext | tag (16)}, the version byte
 * authenticated as associated data. A plaintext keyring (no keys) sends
 * {@code 0x00 | plaintext} and accepts nothing else; a keyed one refuses plaintext.
 */
public final class Keyring {

    /** AES-256: 32-byte keys. */
    public static final int KEY_BYTES = 32;
    static final int NONCE_BYTES = 12;
    static final int TAG_BYTES = 16;
    /** Bytes a sealed packet adds to its plaintext. */
    static final int OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

    private static final byte PLAIN = 0;
    private static final byte SEALED = 1;

    private final List<byte[]> keys;

    private Keyring(List<byte[]> keys) {
        this.keys = keys;
    }

    /** No encryption: for a cluster configured without a keyring. */
    public static Keyring plaintext() {
        return new Keyring(List.of());
    }

    /** A keyring of base64 keys, the first primary. Bad keys are {@link IllegalArgumentException}s. */
    public static Keyring of(List<String> base64Keys) {
        if (base64Keys.isEmpty()) {
            throw new IllegalArgumentException("a keyring needs at least one key");
        }
        var keys = new ArrayList<byte[]>();
        for (String k : base64Keys) {
            byte[] key = decodeKey(k);
            if (keys.stream().noneMatch(x -> java.util.Arrays.equals(x, key))) {
                keys.add(key);
            }
        }
        return new Keyring(List.copyOf(keys));
    }

    /** Decodes one base64 AES-256 key, or says why it is not one. */
    public static byte[] decodeKey(String base64) {
        byte[] key;
        try {
            key = Base64.getDecoder().decode(base64.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("key is not base64: " + e.getMessage());
        }
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("key is " + key.length + " bytes, must be " + KEY_BYTES
                    + " (AES-256)");
        }
        return key;
    }

    /** A fresh random key, base64, for {@code gpud keyring install}. */
    public static String generateKey(RandomGenerator random) {
        byte[] key = new byte[KEY_BYTES];
        random.nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }

    public boolean encrypted() {
        return !keys.isEmpty();
    }

    /** The keys, base64, primary first. */
    public List<String> keys() {
        return keys.stream().map(k -> Base64.getEncoder().encodeToString(k)).toList();
    }

    /** This keyring with {@code key} added (accepted, not yet used to seal). */
    public Keyring install(String key) {
        byte[] k = decodeKey(key);
        if (indexOf(k) >= 0) {
            return this;
        }
        var next = new ArrayList<>(keys);
        next.add(k);
        return new Keyring(List.copyOf(next));
    }

    /** This keyring with {@code key}, already installed, as the primary. */
    public Keyring use(String key) {
        byte[] k = decodeKey(key);
        int i = indexOf(k);
        if (i < 0) {
            throw new IllegalArgumentException("key is not installed; install it first");
        }
        var next = new ArrayList<>(keys);
        next.add(0, next.remove(i));
        return new Keyring(List.copyOf(next));
    }

    /** This keyring without {@code key}, which must not be the primary. */
    public Keyring remove(String key) {
        byte[] k = decodeKey(key);
        int i = indexOf(k);
        if (i < 0) {
            return this;
        }
        if (i == 0) {
            throw new IllegalArgumentException("key is the primary key; use another one first");
        }
        var next = new ArrayList<>(keys);
        next.remove(i);
        return new Keyring(List.copyOf(next));
    }

    /** This keyring after a cluster key operation; use installs first. */
    Keyring apply(Message.KeyOp op) {
        return switch (op.op()) {
            case INSTALL -> install(op.key());
            case USE -> install(op.key()).use(op.key());
            case REMOVE -> remove(op.key());
        };
    }

    private int indexOf(byte[] k) {
        for (int i = 0; i < keys.size(); i++) {
            if (java.util.Arrays.equals(keys.get(i), k)) {
                return i;
            }
        }
        return -1;
    }

    /** Seals a plaintext with the primary key and a random nonce. */
    byte[] seal(byte[] plaintext, RandomGenerator nonces) {
        if (keys.isEmpty()) {
            byte[] out = new byte[plaintext.length + 1];
            out[0] = PLAIN;
            System.arraycopy(plaintext, 0, out, 1, plaintext.length);
            return out;
        }
        byte[] nonce = new byte[NONCE_BYTES];
        nonces.nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(keys.getFirst(), "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(new byte[] {SEALED});
            byte[] out = new byte[1 + NONCE_BYTES + c.getOutputSize(plaintext.length)];
            out[0] = SEALED;
            System.arraycopy(nonce, 0, out, 1, NONCE_BYTES);
            c.doFinal(plaintext, 0, plaintext.length, out, 1 + NONCE_BYTES);
            return out;
        } catch (GeneralSecurityException e) {
            throw new MembershipException("AES-GCM is not available: " + e, e);
        }
    }

    /** Opens a packet under any key of the ring; null when it does not authenticate. */
    byte[] open(byte[] packet) {
        if (packet.length < 1) {
            return null;
        }
        if (keys.isEmpty()) {
            return packet[0] == PLAIN ? java.util.Arrays.copyOfRange(packet, 1, packet.length) : null;
        }
        if (packet[0] != SEALED || packet.length < OVERHEAD) {
            return null;
        }
        for (byte[] key : keys) {
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"),
                        new GCMParameterSpec(128, packet, 1, NONCE_BYTES));
                c.updateAAD(new byte[] {SEALED});
                return c.doFinal(packet, 1 + NONCE_BYTES, packet.length - 1 - NONCE_BYTES);
            } catch (AEADBadTagException wrongKey) {
                // try the next key
            } catch (GeneralSecurityException e) {
                throw new MembershipException("AES-GCM is not available: " + e, e);
            }
        }
        return null;
    }
}
