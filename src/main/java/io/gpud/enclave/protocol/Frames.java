package io.gpud.enclave.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Length-prefixed frames: a 4-byte big-endian unsigned length, then that many bytes. The
 * length is checked against the cap before a buffer is allocated, so a peer that
 * announces 4 GiB costs nothing.
 */
public final class Frames {

    /** The largest frame either side accepts: a 1 MiB request body plus CMS and headers. */
    public static final int DEFAULT_MAX_BYTES = 4 << 20;

    private Frames() {
    }

    /** Writes one frame and flushes. */
    public static void write(OutputStream out, byte[] payload, int maxBytes) throws IOException {
        if (payload.length > maxBytes) {
            throw new ProtocolException("frame of " + payload.length + " bytes is over the cap of " + maxBytes);
        }
        int n = payload.length;
        out.write(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        out.write(payload);
        out.flush();
    }

    /**
     * Reads one frame, or returns null when the stream ends cleanly before a new frame.
     *
     * @throws ProtocolException when the announced length is over {@code maxBytes} (before
     *                           allocating) or the stream ends inside a frame
     */
    public static byte[] read(InputStream in, int maxBytes) throws IOException {
        byte[] header = in.readNBytes(4);
        if (header.length == 0) {
            return null;
        }
        if (header.length < 4) {
            throw new ProtocolException("stream ended inside a frame header (" + header.length + " of 4 bytes)");
        }
        long n = ((header[0] & 0xffL) << 24) | ((header[1] & 0xff) << 16) | ((header[2] & 0xff) << 8)
                | (header[3] & 0xff);
        if (n > maxBytes) {
            throw new ProtocolException("frame of " + n + " bytes announced; the cap is " + maxBytes);
        }
        byte[] payload = in.readNBytes((int) n);
        if (payload.length < n) {
            throw new ProtocolException("stream ended inside a frame (" + payload.length + " of " + n + " bytes)",
                    new EOFException());
        }
        return payload;
    }
}
