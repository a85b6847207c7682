package io.gpud.fuzz;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

/** Byte-level mutations and the printable forms of bytes, shared by the HTTP and gossip fuzzers. */
public final class Mutations {

    private static final byte[] INTERESTING = {0, 1, -1, 0x7f, (byte) 0x80, 0x20, '\r', '\n', ':', ';', '"', '%'};
    private static final long[] INTERESTING_LONGS = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE,
        0xFFFF_FFFFL, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1, 1L << 62, 0xFFFF, 0x10000};

    private Mutations() {
    }

    /** {@code ops} random byte-level changes to a copy of {@code b}; each is named in {@code what}. */
    public static byte[] bytes(byte[] b, SplittableRandom rnd, int ops, List<String> what) {
        byte[] out = b;
        for (int i = 0; i < ops; i++) {
            int at = out.length == 0 ? 0 : rnd.nextInt(out.length);
            switch (rnd.nextInt(9)) {
                case 0 -> {
                    out = out.clone();
                    if (out.length > 0) {
                        out[at] ^= (byte) (1 << rnd.nextInt(8));
                    }
                    what.add("bit flip at " + at);
                }
                case 1 -> {
                    out = out.clone();
                    if (out.length > 0) {
                        out[at] = INTERESTING[rnd.nextInt(INTERESTING.length)];
                    }
                    what.add("byte at " + at);
                }
                case 2 -> {
                    out = out.clone();
                    int width = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
                    long v = INTERESTING_LONGS[rnd.nextInt(INTERESTING_LONGS.length)];
                    for (int k = 0; k < width && at + k < out.length; k++) {
                        out[at + k] = (byte) (v >>> (8 * (width - 1 - k)));
                    }
                    what.add(width + "-byte " + v + " at " + at);
                }
                case 3 -> {
                    out = Arrays.copyOf(out, at);
                    what.add("cut at " + at);
                }
                case 4 -> {
                    out = splice(out, at, at, randomBytes(rnd, 1 + rnd.nextInt(16)));
                    what.add("insert at " + at);
                }
                case 5 -> {
                    int end = Math.min(out.length, at + 1 + rnd.nextInt(32));
                    out = splice(out, at, end, new byte[0]);
                    what.add("delete " + at + ".." + end);
                }
                case 6 -> {
                    int end = Math.min(out.length, at + 1 + rnd.nextInt(64));
                    out = splice(out, at, at, Arrays.copyOfRange(out, at, end));
                    what.add("repeat " + at + ".." + end);
                }
                case 7 -> {
                    out = concat(out, randomBytes(rnd, 1 + rnd.nextInt(64)));
                    what.add("append");
                }
                default -> {
                    out = out.clone();
                    if (out.length > 1) {
                        int other = rnd.nextInt(out.length);
                        byte t = out[at];
                        out[at] = out[other];
                        out[other] = t;
                    }
                    what.add("swap at " + at);
                }
            }
        }
        return out;
    }

    public static byte[] randomBytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    public static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** {@code b} with {@code [from, to)} replaced by {@code with}. */
    public static byte[] splice(byte[] b, int from, int to, byte[] with) {
        byte[] out = new byte[b.length - (to - from) + with.length];
        System.arraycopy(b, 0, out, 0, from);
        System.arraycopy(with, 0, out, from, with.length);
        System.arraycopy(b, to, out, from + with.length, b.length - to);
        return out;
    }

    /** Printable ASCII as is, CR/LF/tab as escapes, every other byte as {@code \xNN}. */
    public static String escape(byte[] b, int max) {
        var sb = new StringBuilder();
        for (int i = 0; i < Math.min(b.length, max); i++) {
            int c = b[i] & 0xff;
            switch (c) {
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c >= 0x20 && c < 0x7f) {
                        sb.append((char) c);
                    } else {
                        sb.append(String.format("\\x%02x", c));
                    }
                }
            }
        }
        if (b.length > max) {
            sb.append("... (").append(b.length).append(" bytes)");
        }
        return sb.toString();
    }

    public static String escape(String s) {
        return escape(s.getBytes(java.nio.charset.StandardCharsets.UTF_8), 120);
    }

    public static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** A long string as its head and its length. */
    public static String shorten(String s) {
        return s.length() <= 60 ? s : s.substring(0, 40) + "...(" + s.length() + " chars)";
    }

    /** A JSON value as is, unless it needs quotes to stand alone. */
    static String quoteIfBare(String v) {
        return v.isEmpty() ? "\"\"" : v;
    }
}
