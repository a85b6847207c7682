package io.gpud.core;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Identifiers: request ids and generated node ids. */
public final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

    private Ids() {
    }

    /** A random id of {@code length} lowercase letters and digits, prefixed. */
    public static String random(String prefix, int length) {
        var sb = new StringBuilder(prefix.length() + length).append(prefix);
        for (int i = 0; i < length; i++) {
            sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
        }
        return sb.toString();
    }

    /** A 128-bit random hex string. */
    public static String hex128() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
