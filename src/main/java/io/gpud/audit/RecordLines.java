package io.gpud.audit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The lines of an audit log as bytes, one at a time, each with the offset just past it and
 * whether a newline ended it: what tells a whole record from one an interrupted write left.
 * A line keeps at most {@link #MAX_BYTES} bytes, so a file without newlines costs bounded
 * memory; a longer one is marked {@code overlong}.
 */
final class RecordLines implements AutoCloseable {

    /** The longest line kept; records are identifiers and outcomes, far shorter. */
    static final int MAX_BYTES = 1 << 20;

    /** One line without its newline; {@code end} is the offset just past it (and its newline). */
    record Line(byte[] bytes, long end, boolean terminated, boolean overlong) {
    }

    private final InputStream in;
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;
    private long offset;

    private RecordLines(InputStream in) {
        this.in = in;
    }

    static RecordLines of(Path file) throws IOException {
        return new RecordLines(Files.newInputStream(file));
    }

    /** The next line, or null at the end of the file. */
    Line next() throws IOException {
        var line = new ByteArrayOutputStream();
        boolean overlong = false;
        boolean any = false;
        while (position < limit || fill()) {
            any = true;
            int start = position;
            while (position < limit && buffer[position] != '\n') {
                position++;
            }
            int length = position - start;
            int room = MAX_BYTES - line.size();
            line.write(buffer, start, Math.min(length, room));
            overlong |= length > room;
            offset += length;
            if (position < limit) {
                position++;
                offset++;
                return new Line(line.toByteArray(), offset, true, overlong);
            }
        }
        return any ? new Line(line.toByteArray(), offset, false, overlong) : null;
    }

    private boolean fill() throws IOException {
        int n = in.read(buffer);
        position = 0;
        limit = Math.max(n, 0);
        return n > 0;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
