package io.gpud.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Where the loader's bytes come from: positional reads of files. {@link #files()} reads
 * the file system; {@link ThrottledByteSource} caps another source's rate; tests supply
 * sources that fail on purpose.
 */
public interface ByteSource {

    /** Opens {@code file} for positional reads from many threads at once. */
    Handle open(Path file) throws IOException;

    /** An open file. */
    interface Handle extends AutoCloseable {

        /** The file's size in bytes. */
        long size() throws IOException;

        /**
         * Reads up to {@code dst.remaining()} bytes starting at {@code position} into
         * {@code dst}; returns the number read, or -1 at the end of the file. Safe to call
         * from several threads at once.
         */
        int read(ByteBuffer dst, long position) throws IOException;

        @Override
        void close() throws IOException;
    }

    /** The file system, through {@link FileChannel} positional reads (pread). */
    static ByteSource files() {
        return file -> {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
            return new Handle() {
                @Override
                public long size() throws IOException {
                    return channel.size();
                }

                @Override
                public int read(ByteBuffer dst, long position) throws IOException {
                    return channel.read(dst, position);
                }

                @Override
                public void close() throws IOException {
                    channel.close();
                }
            };
        };
    }
}
