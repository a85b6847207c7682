package io.gpud.enclave.program;

import io.gpud.enclave.crypto.Attestor;
import io.gpud.enclave.protocol.Frames;
import io.gpud.enclave.protocol.ProtocolException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;

/**
 * The enclave program's listener: accepts parent connections on a Unix socket (local mode)
 * and serves each on its own platform thread, one frame in, one frame out. Platform
 * threads, because every request crosses here twice and a blocking read on a platform
 * thread answers with one wakeup where a virtual thread needs two (poller, then carrier):
 * measured, half the round trip at the median and a fraction of it at p99. The parent
 * keeps its connections open, so there are few; more than {@link #MAX_CONNECTIONS} at
 * once are closed on arrival. A connection that sends a bad frame (over the cap,
 * truncated) is closed; the program goes on.
 */
public final class EnclaveServer implements AutoCloseable {

    /** Parent connections served at once, at most. */
    static final int MAX_CONNECTIONS = 64;

    private final EnclaveService service;
    private final ServerSocketChannel server;
    private final Path socket;
    private final Thread acceptor;
    private final Semaphore connections = new Semaphore(MAX_CONNECTIONS);

    private EnclaveServer(EnclaveService service, ServerSocketChannel server, Path socket) {
        this.service = service;
        this.server = server;
        this.socket = socket;
        this.acceptor = Thread.ofVirtual().name("enclave-accept").start(this::acceptLoop);
    }

    /** Listens on {@code socket} (replacing a stale file) with a fresh enclave key and the default key cache. */
    public static EnclaveServer unix(Path socket, Attestor attestor) throws IOException {
        return unix(socket, attestor, DataKeyCache.Limits.defaults());
    }

    static EnclaveServer unix(Path socket, Attestor attestor, DataKeyCache.Limits cache) throws IOException {
        var service = new EnclaveService(attestor, new DataKeyCache(cache, System::nanoTime));
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return new EnclaveServer(service, server, socket);
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                start(() -> serve(Channels.newInputStream(ch), Channels.newOutputStream(ch), ch), ch, connections);
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Serves {@code connection} on a thread of its own, or closes it when {@link #MAX_CONNECTIONS} are served. */
    static void start(Runnable serving, AutoCloseable connection, Semaphore connections) {
        if (!connections.tryAcquire()) {
            System.err.println("enclave: over " + MAX_CONNECTIONS + " connections; closing a new one");
            try {
                connection.close();
            } catch (Exception e) {
                // It is being refused; a failure to close it changes nothing.
            }
            return;
        }
        Thread.ofPlatform().daemon().name("enclave-conn").start(() -> {
            try {
                serving.run();
            } finally {
                connections.release();
            }
        });
    }

    /** Serves one connection until it closes or breaks the framing. */
    static void serve(InputStream rawIn, OutputStream rawOut, AutoCloseable connection, EnclaveService service) {
        try (connection) {
            var in = new BufferedInputStream(rawIn);
            var out = new BufferedOutputStream(rawOut);
            for (byte[] frame; (frame = Frames.read(in, Frames.DEFAULT_MAX_BYTES)) != null; ) {
                Frames.write(out, service.handle(frame), Frames.DEFAULT_MAX_BYTES);
            }
        } catch (ProtocolException | IOException e) {
            System.err.println("enclave: connection closed: " + e.getMessage());
        } catch (Exception e) {
            System.err.println("enclave: connection failed: " + e);
        }
    }

    private void serve(InputStream in, OutputStream out, AutoCloseable connection) {
        serve(in, out, connection, service);
    }

    /** Data keys held right now, for requests opened and not yet sealed or aborted. */
    public int openKeys() {
        return service.openCount();
    }

    /** Data keys kept for later requests of their session. */
    public int cachedKeys() {
        return service.cachedKeys();
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
        service.forgetKeys();
        Files.deleteIfExists(socket);
    }
}
