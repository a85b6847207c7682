package io.gpud.enclave.protocol;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/** A {@link FrameChannel} over a connected byte stream (a Unix socket, or a vsock file descriptor). */
public final class StreamFrameChannel implements FrameChannel {

    private final InputStream in;
    private final OutputStream out;
    private final AutoCloseable connection;
    private final int maxFrameBytes;

    public StreamFrameChannel(InputStream in, OutputStream out, AutoCloseable connection, int maxFrameBytes) {
        this.in = new BufferedInputStream(in);
        this.out = new BufferedOutputStream(out);
        this.connection = connection;
        this.maxFrameBytes = maxFrameBytes;
    }

    /** Connects to the enclave program listening on a Unix socket (local mode). */
    public static StreamFrameChannel unix(Path socket, int maxFrameBytes) throws IOException {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        return new StreamFrameChannel(Channels.newInputStream(ch), Channels.newOutputStream(ch), ch, maxFrameBytes);
    }

    @Override
    public synchronized byte[] call(byte[] request) throws IOException {
        Frames.write(out, request, maxFrameBytes);
        byte[] reply = Frames.read(in, maxFrameBytes);
        if (reply == null) {
            throw new IOException("the enclave closed the connection");
        }
        return reply;
    }

    @Override
    public void close() throws IOException {
        try {
            connection.close();
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }
}
