package io.gpud.routing;

import java.nio.ByteBuffer;
import java.util.Base64;

/**
 * The prompt's KV block names a forwarded request carries ({@link #NAME}), so the serving
 * engine does not hash its prompt again: the 8-byte names, big-endian, in URL-safe base64
 * without padding.
 *
 * <p>At most {@value #MAX_NAMES} names (16,384 tokens at 16 a block) go on a request:
 * 10,923 characters, inside the 16 KiB of headers a server accepts by default. A longer
 * prompt carries its first {@value #MAX_NAMES}, and the engine names the rest itself.
 * Names never vouch for contents (the engine compares tokens before it reuses a block), so
 * a wrong name costs only a miss; still, only a request a peer forwarded is trusted with
 * them, and a malformed value is ignored.
 */
public final class PrefixNamesHeader {

    /** The request header. */
    public static final String NAME = "x-gpud-prefix-names";
    /** Most names one request carries. */
    public static final int MAX_NAMES = 1024;

    private PrefixNamesHeader() {
    }

    /** The header value for {@code names} (the first {@value #MAX_NAMES}), or null when there are none. */
    public static String encode(long[] names) {
        if (names == null || names.length == 0) {
            return null;
        }
        int n = Math.min(names.length, MAX_NAMES);
        ByteBuffer bytes = ByteBuffer.allocate(8 * n);
        for (int i = 0; i < n; i++) {
            bytes.putLong(names[i]);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes.array());
    }

    /**
     * The names in a header value; null when it is absent, longer than {@value #MAX_NAMES}
     * names, not base64, or not a whole number of names. Reads at most the bound: a longer
     * value is refused by its length before it is decoded.
     *
     * @throws IllegalArgumentException never; malformed input is null
     */
    public static long[] decode(String value) {
        if (value == null || value.isEmpty() || value.length() > (MAX_NAMES * 8 * 4 + 2) / 3) {
            return null;
        }
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(value);
        } catch (IllegalArgumentException malformed) {
            return null;
        }
        if (bytes.length % 8 != 0) {
            return null;
        }
        long[] names = new long[bytes.length / 8];
        ByteBuffer in = ByteBuffer.wrap(bytes);
        for (int i = 0; i < names.length; i++) {
            names[i] = in.getLong();
        }
        return names;
    }
}
