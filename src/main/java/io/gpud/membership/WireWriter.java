package io.gpud.membership;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Appends big-endian fields to a growing buffer. */
final class WireWriter {
    private byte[] buf;
    private int len;

    WireWriter(int capacity) {
        buf = new byte[capacity];
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }

    WireWriter u8(int v) {
        ensure(1);
        buf[len++] = (byte) v;
        return this;
    }

    WireWriter u16(int v) {
        ensure(2);
        buf[len++] = (byte) (v >>> 8);
        buf[len++] = (byte) v;
        return this;
    }

    WireWriter i32(int v) {
        ensure(4);
        for (int s = 24; s >= 0; s -= 8) {
            buf[len++] = (byte) (v >>> s);
        }
        return this;
    }

    /** The low 48 bits of {@code v}. */
    WireWriter u48(long v) {
        ensure(6);
        for (int s = 40; s >= 0; s -= 8) {
            buf[len++] = (byte) (v >>> s);
        }
        return this;
    }

    WireWriter i64(long v) {
        ensure(8);
        for (int s = 56; s >= 0; s -= 8) {
            buf[len++] = (byte) (v >>> s);
        }
        return this;
    }

    /** A string of at most 255 UTF-8 bytes, length-prefixed. */
    WireWriter string(String s) {
        int n = s.length();
        if (n <= 255) {
            // ASCII, the common case, goes straight into the buffer.
            ensure(1 + n);
            int start = len;
            buf[len++] = (byte) n;
            int i = 0;
            for (char c; i < n && (c = s.charAt(i)) < 0x80; i++) {
                buf[len++] = (byte) c;
            }
            if (i == n) {
                return this;
            }
            len = start;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 255) {
            throw new IllegalArgumentException("string of " + b.length + " bytes does not fit the wire (255 at most)");
        }
        u8(b.length);
        return bytes(b);
    }

    /** A byte array of at most 65535 bytes, length-prefixed. */
    WireWriter blob(byte[] b) {
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("blob of " + b.length + " bytes does not fit the wire");
        }
        u16(b.length);
        return bytes(b);
    }

    WireWriter bytes(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, buf, len, b.length);
        len += b.length;
        return this;
    }

    WireWriter address(InetSocketAddress a) {
        byte[] ip = a.getAddress().getAddress();
        u8(ip.length);
        bytes(ip);
        return u16(a.getPort());
    }

    int length() {
        return len;
    }

    /** The bytes written; a writer presized exactly hands over its buffer, so write no more after this. */
    byte[] toArray() {
        return len == buf.length ? buf : Arrays.copyOf(buf, len);
    }
}
