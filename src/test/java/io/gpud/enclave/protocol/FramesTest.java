package io.gpud.enclave.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class FramesTest {

    /** A stream that announces a frame of {@code length} bytes and counts what is read after the header. */
    private static final class Announcing extends InputStream {
        private final byte[] header;
        private int pos;
        long bodyBytesRead;

        Announcing(long length) {
            header = new byte[] {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length};
        }

        @Override
        public int read() {
            if (pos < 4) {
                return header[pos++] & 0xff;
            }
            bodyBytesRead++;
            return 0;
        }
    }

    @Test
    void roundTrips() throws Exception {
        var out = new ByteArrayOutputStream();
        Frames.write(out, new byte[] {1, 2, 3}, 16);
        Frames.write(out, new byte[0], 16);
        var in = new ByteArrayInputStream(out.toByteArray());
        assertArrayEquals(new byte[] {1, 2, 3}, Frames.read(in, 16));
        assertArrayEquals(new byte[0], Frames.read(in, 16));
        assertNull(Frames.read(in, 16));
    }

    @Test
    void oversizedFrameIsRejectedBeforeAnyBodyByteIsReadOrAllocated() {
        var in = new Announcing(0xffffffffL);
        var e = assertThrows(ProtocolException.class, () -> Frames.read(in, Frames.DEFAULT_MAX_BYTES));
        assertEquals("frame of 4294967295 bytes announced; the cap is " + Frames.DEFAULT_MAX_BYTES, e.getMessage());
        assertEquals(0, in.bodyBytesRead);
        var justOver = new Announcing(Frames.DEFAULT_MAX_BYTES + 1L);
        assertThrows(ProtocolException.class, () -> Frames.read(justOver, Frames.DEFAULT_MAX_BYTES));
        assertEquals(0, justOver.bodyBytesRead);
    }

    @Test
    void writerRefusesOversizedFrames() {
        assertThrows(ProtocolException.class, () -> Frames.write(new ByteArrayOutputStream(), new byte[17], 16));
    }

    @Test
    void truncatedHeaderOrBodyIsAnError() {
        var e = assertThrows(ProtocolException.class, () -> Frames.read(new ByteArrayInputStream(new byte[] {0, 0}), 16));
        assertTrue(e.getMessage().contains("header"));
        e = assertThrows(ProtocolException.class,
                () -> Frames.read(new ByteArrayInputStream(new byte[] {0, 0, 0, 8, 1, 2}), 16));
        assertTrue(e.getMessage().contains("2 of 8 bytes"));
    }
}
