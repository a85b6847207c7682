package io.gpud.enclave.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * AF_VSOCK stream sockets through the FFM API (the JDK has no vsock support): the parent
 * connects to the enclave's CID and port, the enclave program listens on its port. Only
 * Linux; on a host without vsock {@link #connect} and {@link #listen} fail with the errno.
 */
public final class Vsock {

    static final int AF_VSOCK = 40;
    static final int SOCK_STREAM = 1;
    /** Listen on any CID. */
    static final int VMADDR_CID_ANY = -1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final long ERRNO_OFFSET = Linker.Option.captureStateLayout()
            .byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle SOCKET = handle("socket",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle CONNECT = handle("connect",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle BIND = handle("bind",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle LISTEN = handle("listen",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle ACCEPT = handle("accept",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle READ = handle("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle WRITE = handle("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle CLOSE = handle("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SHUTDOWN = handle("shutdown",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final int SHUT_RDWR = 2;

    private Vsock() {
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd, ERRNO);
    }

    /**
     * A connected vsock stream. {@link #close} may be called from any thread: a read or
     * write in progress then returns (the socket is shut down at once), and the descriptor
     * is released only when no call is using it, so its number cannot be reused under one.
     */
    public static final class Connection implements AutoCloseable {
        private final int fd;
        private int busy;           // reads and writes in progress
        private boolean closed;     // shut down; no new read or write
        private boolean released;   // fd closed

        Connection(int fd) {
            this.fd = fd;
        }

        private synchronized void enter() throws IOException {
            if (closed) {
                throw new IOException("the vsock connection is closed");
            }
            busy++;
        }

        private void exit() {
            synchronized (this) {
                busy--;
                if (!closed || busy > 0 || released) {
                    return;
                }
                released = true;
            }
            try {
                release();
            } catch (IOException e) {
                // The descriptor is gone either way; the read or write's own outcome is what matters.
            }
        }

        /** Reads and writes in progress (tests). */
        synchronized int busy() {
            return busy;
        }

        public InputStream in() {
            return new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    enter();
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment buf = a.allocate(Math.max(1, len));
                        long n = (long) call(READ, a, "read", fd, buf, (long) len);
                        if (n == 0) {
                            return -1;
                        }
                        MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, b, off, (int) n);
                        return (int) n;
                    } finally {
                        exit();
                    }
                }
            };
        }

        public OutputStream out() {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    enter();
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment buf = a.allocate(Math.max(1, len));
                        MemorySegment.copy(b, off, buf, ValueLayout.JAVA_BYTE, 0, len);
                        for (long done = 0; done < len; ) {
                            done += (long) call(WRITE, a, "write", fd, buf.asSlice(done), len - done);
                        }
                    } finally {
                        exit();
                    }
                }
            };
        }

        @Override
        public void close() throws IOException {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                if (busy > 0) {
                    // Wakes the read or write in progress, whose exit releases the descriptor;
                    // under the lock, so that cannot happen before this call.
                    try (Arena a = Arena.ofConfined()) {
                        call(SHUTDOWN, a, "shutdown", fd, SHUT_RDWR);
                    }
                    return;
                }
                released = true;
            }
            release();
        }

        private void release() throws IOException {
            try (Arena a = Arena.ofConfined()) {
                call(CLOSE, a, "close", fd);
            }
        }
    }

    /** Connects to {@code cid:port}. */
    public static Connection connect(int cid, int port) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) call(SOCKET, a, "socket(AF_VSOCK)", AF_VSOCK, SOCK_STREAM, 0);
            try {
                call(CONNECT, a, "connect(vsock " + cid + ":" + port + ")", fd, address(a, cid, port), 16);
            } catch (IOException e) {
                call(CLOSE, a, "close", fd);
                throw e;
            }
            return new Connection(fd);
        }
    }

    /** A listening socket on {@code port}, any CID; {@link #accept} takes connections from it. */
    public static int listen(int port) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) call(SOCKET, a, "socket(AF_VSOCK)", AF_VSOCK, SOCK_STREAM, 0);
            call(BIND, a, "bind(vsock port " + port + ")", fd, address(a, VMADDR_CID_ANY, port), 16);
            call(LISTEN, a, "listen", fd, 16);
            return fd;
        }
    }

    /** Waits for the next connection on a socket from {@link #listen}. */
    public static Connection accept(int listenFd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            return new Connection((int) call(ACCEPT, a, "accept", listenFd, MemorySegment.NULL, MemorySegment.NULL));
        }
    }

    /** {@code struct sockaddr_vm}: family, reserved, port, cid, flags, zero[3] (16 bytes). */
    private static MemorySegment address(Arena a, int cid, int port) {
        MemorySegment s = a.allocate(16);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) AF_VSOCK);
        s.set(ValueLayout.JAVA_INT, 4, port);
        s.set(ValueLayout.JAVA_INT, 8, cid);
        return s;
    }

    private static Object call(MethodHandle h, Arena a, String what, Object... args) throws IOException {
        MemorySegment state = a.allocate(Linker.Option.captureStateLayout());
        Object[] full = new Object[args.length + 1];
        full[0] = state;
        System.arraycopy(args, 0, full, 1, args.length);
        Object r;
        try {
            r = h.invokeWithArguments(full);
        } catch (Throwable t) {
            throw new IOException(what + " failed: " + t, t);
        }
        long v = r instanceof Integer i ? i : (Long) r;
        if (v < 0) {
            throw new IOException(what + " failed: errno " + state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET));
        }
        return r;
    }
}
