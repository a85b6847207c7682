package io.gpud.enclave.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict CBOR (RFC 8949) codec for the subset the enclave protocol and Nitro attestation
 * documents use: unsigned and negative integers ({@code Long}), byte strings
 * ({@code byte[]}), UTF-8 text ({@code String}), arrays ({@code List}), maps ({@code Map},
 * insertion-ordered), {@code true}/{@code false}/{@code null} and tags ({@link Tagged}).
 *
 * <p>Decoding refuses what a hostile peer could use to cost memory or confuse a reader:
 * indefinite lengths, a length longer than the bytes left (checked before allocating),
 * nesting deeper than {@link Limits#maxDepth()}, collections over
 * {@link Limits#maxItems()}, duplicate map keys, integers outside {@code long}, floats,
 * invalid UTF-8, and trailing bytes after the item. Every refusal is a
 * {@link ProtocolException} naming the offset.
 */
public final class Cbor {

    /** A tagged item: {@code tag(value)}. */
    public record Tagged(long tag, Object value) {
    }

    /**
     * Decoding caps.
     *
     * @param maxDepth nesting depth of arrays, maps and tags
     * @param maxItems elements of one array or entries of one map
     */
    public record Limits(int maxDepth, int maxItems) {
        public Limits {
            if (maxDepth < 1 || maxDepth > 64) {
                throw new IllegalArgumentException("maxDepth was " + maxDepth + ", must be in [1, 64]");
            }
            if (maxItems < 1) {
                throw new IllegalArgumentException("maxItems was " + maxItems + ", must be positive");
            }
        }

        /** Enough for attestation documents (16 PCRs, a handful of certificates) and protocol messages. */
        public static Limits defaults() {
            return new Limits(8, 1024);
        }
    }

    private Cbor() {
    }

    /** Decodes exactly one item under the default limits. */
    public static Object decode(byte[] bytes) {
        return decode(bytes, Limits.defaults());
    }

    /** Decodes exactly one item; trailing bytes are an error. */
    public static Object decode(byte[] bytes, Limits limits) {
        var reader = new Reader(bytes, limits);
        Object value = reader.item(0);
        if (reader.pos != bytes.length) {
            throw new ProtocolException("CBOR: " + (bytes.length - reader.pos) + " trailing bytes after the item at offset "
                    + reader.pos);
        }
        return value;
    }

    /** Encodes an item built of the types this codec decodes (and {@code Integer}). */
    public static byte[] encode(Object value) {
        var out = new ByteArrayOutputStream();
        write(out, value);
        return out.toByteArray();
    }

    private static void write(ByteArrayOutputStream out, Object value) {
        switch (value) {
            case null -> out.write(0xf6);
            case Boolean b -> out.write(b ? 0xf5 : 0xf4);
            case Integer i -> write(out, (long) i);
            case Long l -> {
                if (l >= 0) {
                    head(out, 0, l);
                } else {
                    head(out, 1, -1 - l);
                }
            }
            case byte[] b -> {
                head(out, 2, b.length);
                out.writeBytes(b);
            }
            case String s -> {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                head(out, 3, b.length);
                out.writeBytes(b);
            }
            case List<?> list -> {
                head(out, 4, list.size());
                list.forEach(e -> write(out, e));
            }
            case Map<?, ?> map -> {
                head(out, 5, map.size());
                map.forEach((k, v) -> {
                    write(out, k);
                    write(out, v);
                });
            }
            case Tagged t -> {
                head(out, 6, t.tag());
                write(out, t.value());
            }
            default -> throw new IllegalArgumentException("CBOR cannot encode a " + value.getClass().getName());
        }
    }

    private static void head(ByteArrayOutputStream out, int major, long n) {
        int m = major << 5;
        if (n < 24) {
            out.write(m | (int) n);
        } else if (n < 0x100) {
            out.write(m | 24);
            out.write((int) n);
        } else if (n < 0x10000) {
            out.write(m | 25);
            out.write((int) (n >>> 8));
            out.write((int) n);
        } else if (n < 0x100000000L) {
            out.write(m | 26);
            for (int s = 24; s >= 0; s -= 8) {
                out.write((int) (n >>> s));
            }
        } else {
            out.write(m | 27);
            for (int s = 56; s >= 0; s -= 8) {
                out.write((int) (n >>> s));
            }
        }
    }

    private static final class Reader {
        private final byte[] in;
        private final Limits limits;
        private int pos;

        Reader(byte[] in, Limits limits) {
            this.in = in;
            this.limits = limits;
        }

        Object item(int depth) {
            if (depth > limits.maxDepth()) {
                throw fail("nesting deeper than " + limits.maxDepth());
            }
            int start = pos;
            int initial = u8();
            int major = initial >>> 5;
            int info = initial & 0x1f;
            if (major == 7) {
                return switch (info) {
                    case 20 -> Boolean.FALSE;
                    case 21 -> Boolean.TRUE;
                    case 22 -> null;
                    default -> throw failAt(start, "simple value or float (info " + info + ") is not accepted");
                };
            }
            if (info == 31) {
                throw failAt(start, "indefinite length is not accepted");
            }
            long n = argument(info, start);
            return switch (major) {
                case 0 -> n;
                case 1 -> -1 - n;
                case 2 -> bytes(n, start);
                case 3 -> text(n, start);
                case 4 -> array(n, depth, start);
                case 5 -> map(n, depth, start);
                case 6 -> new Tagged(n, item(depth + 1));
                default -> throw failAt(start, "unknown major type " + major);
            };
        }

        private long argument(int info, int start) {
            if (info < 24) {
                return info;
            }
            int size = switch (info) {
                case 24 -> 1;
                case 25 -> 2;
                case 26 -> 4;
                case 27 -> 8;
                default -> throw failAt(start, "reserved additional info " + info);
            };
            need(size, start);
            long n = 0;
            for (int i = 0; i < size; i++) {
                n = (n << 8) | (in[pos++] & 0xff);
            }
            if (n < 0) {
                throw failAt(start, "integer or length above 2^63-1");
            }
            return n;
        }

        private byte[] bytes(long n, int start) {
            need(n, start);
            byte[] b = new byte[(int) n];
            System.arraycopy(in, pos, b, 0, b.length);
            pos += b.length;
            return b;
        }

        private String text(long n, int start) {
            byte[] b = bytes(n, start);
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw failAt(start, "text string is not valid UTF-8");
            }
        }

        private List<Object> array(long n, int depth, int start) {
            items(n, start);
            var list = new ArrayList<>((int) n);
            for (long i = 0; i < n; i++) {
                list.add(item(depth + 1));
            }
            return Collections.unmodifiableList(list);
        }

        private Map<Object, Object> map(long n, int depth, int start) {
            items(n, start);
            var map = new LinkedHashMap<Object, Object>();
            for (long i = 0; i < n; i++) {
                int keyAt = pos;
                Object key = item(depth + 1);
                if (!(key instanceof Long) && !(key instanceof String)) {
                    throw failAt(keyAt, "map key must be an integer or text");
                }
                if (map.containsKey(key)) {
                    throw failAt(keyAt, "duplicate map key " + key);
                }
                map.put(key, item(depth + 1));
            }
            return Collections.unmodifiableMap(map);
        }

        /** Every element takes at least one byte, so a count above the bytes left is a lie. */
        private void items(long n, int start) {
            if (n > limits.maxItems()) {
                throw failAt(start, n + " items, over the cap of " + limits.maxItems());
            }
            need(n, start);
        }

        private void need(long n, int start) {
            if (n > in.length - pos) {
                throw failAt(start, "length " + n + " but only " + (in.length - pos) + " bytes left");
            }
        }

        private int u8() {
            if (pos >= in.length) {
                throw fail("unexpected end of input");
            }
            return in[pos++] & 0xff;
        }

        private ProtocolException fail(String why) {
            return failAt(pos, why);
        }

        private ProtocolException failAt(int offset, String why) {
            return new ProtocolException("CBOR at offset " + offset + ": " + why);
        }
    }
}
