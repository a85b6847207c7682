package io.gpud.membership;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads big-endian fields; every read checks what is left first, so a hostile length can
 * never make it allocate more than the packet holds.
 */
final class WireReader {
    /**
     * IPv4 socket addresses already decoded, shared by every reader: a pool has a few
     * hundred peers and every packet names some of them, so one immutable object per
     * address replaces an allocation per mention. Bounded: when full it starts over.
     */
    private static final int MAX_SHARED_ADDRESSES = 1 << 14;
    private static final Map<Long, InetSocketAddress> ADDRESSES = new ConcurrentHashMap<>();

    /**
     * Node ids decoded so far, shared by every reader: an open-addressed table probed a few
     * slots deep, where a newcomer that finds no free slot takes the first. Strings are
     * immutable, so threads may race on a slot and at worst lose an entry.
     */
    private static final String[] KNOWN_IDS = new String[1 << 14];
    private static final int ID_PROBES = 4;

    private final ByteBuffer in;

    WireReader(ByteBuffer in) {
        this.in = in;
    }

    private void need(int n, String what) {
        if (n < 0 || in.remaining() < n) {
            throw new WireFormatException(what + " needs " + n + " bytes at offset " + in.position() + ", "
                    + in.remaining() + " left");
        }
    }

    int u8() {
        need(1, "u8");
        return in.get() & 0xFF;
    }

    int u16() {
        need(2, "u16");
        return in.getShort() & 0xFFFF;
    }

    int i32() {
        need(4, "i32");
        return in.getInt();
    }

    long u48() {
        need(6, "u48");
        long v = (in.getShort() & 0xFFFFL) << 32;
        return v | (in.getInt() & 0xFFFFFFFFL);
    }

    long i64() {
        need(8, "i64");
        return in.getLong();
    }

    boolean bool() {
        int b = u8();
        if (b > 1) {
            throw new WireFormatException("boolean byte was " + b);
        }
        return b == 1;
    }

    String string() {
        int n = u8();
        need(n, "string");
        byte[] b = new byte[n];
        in.get(b);
        if (ascii(b)) {
            // Node ids and most strings: every byte is its own character, nothing to check.
            return new String(b, StandardCharsets.ISO_8859_1);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new WireFormatException("string at offset " + (in.position() - n) + " is not UTF-8");
        }
    }

    private static boolean ascii(byte[] b) {
        for (byte x : b) {
            if (x < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * A string that names a node. Node ids recur in nearly every message, so an ASCII id
     * seen before comes back as the very instance decoded then, straight from the bytes:
     * no copy, no new string, and the member table's lookups find the key they stored and
     * compare no characters. Any other string decodes as {@link #string()} does.
     */
    String nodeId() {
        if (!in.hasRemaining() || in.remaining() < 1 + (in.get(in.position()) & 0xFF)) {
            return string();
        }
        int n = in.get(in.position()) & 0xFF;
        int at = in.position() + 1;
        int h = 0;
        for (int i = 0; i < n; i++) {
            byte b = in.get(at + i);
            if (b < 0) {
                return string();
            }
            h = 31 * h + b;
        }
        int slot = (h ^ (h >>> 13)) & (KNOWN_IDS.length - 1);
        for (int probe = 0; probe < ID_PROBES; probe++) {
            String known = KNOWN_IDS[(slot + probe) & (KNOWN_IDS.length - 1)];
            if (known == null) {
                break;
            }
            if (matches(known, at, n)) {
                in.position(at + n);
                return known;
            }
        }
        String id = string();
        int free = slot;
        for (int probe = 0; probe < ID_PROBES; probe++) {
            int s = (slot + probe) & (KNOWN_IDS.length - 1);
            if (KNOWN_IDS[s] == null) {
                free = s;
                break;
            }
        }
        KNOWN_IDS[free] = id;
        return id;
    }

    private boolean matches(String known, int at, int n) {
        if (known.length() != n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (known.charAt(i) != in.get(at + i)) {
                return false;
            }
        }
        return true;
    }

    byte[] blob(int max) {
        int n = u16();
        if (n > max) {
            throw new WireFormatException("blob of " + n + " bytes, more than " + max);
        }
        need(n, "blob");
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    /** A reader of the next {@code n} bytes alone, which this reader skips; nothing is copied. */
    WireReader part(int n) {
        need(n, "part");
        int at = in.position();
        in.position(at + n);
        return new WireReader(in.slice(at, n));
    }

    InetSocketAddress address() {
        int n = u8();
        if (n != 4 && n != 16) {
            throw new WireFormatException("address of " + n + " bytes, must be 4 or 16");
        }
        need(n, "address");
        byte[] ip = new byte[n];
        in.get(ip);
        int port = u16();
        long key = n == 4 ? ((ip[0] & 0xFFL) << 40 | (ip[1] & 0xFFL) << 32 | (ip[2] & 0xFFL) << 24
                | (ip[3] & 0xFFL) << 16 | port) : -1;
        InetSocketAddress known = key < 0 ? null : ADDRESSES.get(key);
        if (known != null) {
            return known;
        }
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            throw new WireFormatException("bad address: " + e.getMessage());
        }
        if (key >= 0) {
            if (ADDRESSES.size() >= MAX_SHARED_ADDRESSES) {
                ADDRESSES.clear();
            }
            ADDRESSES.putIfAbsent(key, address);
        }
        return address;
    }

    int remaining() {
        return in.remaining();
    }

    void end() {
        if (in.hasRemaining()) {
            throw new WireFormatException(in.remaining() + " trailing bytes");
        }
    }

}
