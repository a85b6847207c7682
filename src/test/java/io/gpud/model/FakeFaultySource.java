package io.gpud.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A file source that misbehaves at one byte offset of one file: the read covering it ends
 * the file early (short read), throws (I/O error) or delivers that byte flipped.
 */
final class FakeFaultySource implements ByteSource {
    enum Fault { SHORT_READ, IO_ERROR, FLIPPED_BYTE }

    private final String fileName;
    private final long offset;
    private final Fault fault;

    FakeFaultySource(String fileName, long offset, Fault fault) {
        this.fileName = fileName;
        this.offset = offset;
        this.fault = fault;
    }

    @Override
    public Handle open(Path file) throws IOException {
        Handle real = ByteSource.files().open(file);
        boolean target = file.getFileName().toString().equals(fileName);
        return new Handle() {
            @Override
            public long size() throws IOException {
                return real.size();
            }

            @Override
            public int read(ByteBuffer dst, long position) throws IOException {
                long end = position + dst.remaining();
                if (!target || offset < position || offset >= end) {
                    return real.read(dst, position);
                }
                switch (fault) {
                    case SHORT_READ -> {
                        if (offset == position) {
                            return -1;
                        }
                        ByteBuffer head = dst.duplicate().limit(dst.position() + (int) (offset - position));
                        int n = real.read(head, position);
                        dst.position(head.position());
                        return n;
                    }
                    case IO_ERROR -> throw new IOException("simulated EIO at offset " + offset);
                    case FLIPPED_BYTE -> {
                        int start = dst.position();
                        int n = real.read(dst, position);
                        if (n > offset - position) {
                            int at = start + (int) (offset - position);
                            dst.put(at, (byte) (dst.get(at) ^ 0x01));
                        }
                        return n;
                    }
                }
                throw new AssertionError(fault);
            }

            @Override
            public void close() throws IOException {
                real.close();
            }
        };
    }
}
