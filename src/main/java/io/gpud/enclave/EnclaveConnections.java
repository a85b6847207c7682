package io.gpud.enclave;

import io.gpud.enclave.protocol.FrameChannel;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The secure requests' connections to the enclave program: up to {@code max} at once, opened
 * when concurrent calls need them and kept for the next. One connection carries one call at
 * a time, so a request whose data key is being unwrapped (an RSA private-key operation) does
 * not hold up requests that only need AES-GCM. A call that fails on a connection closes it
 * (the stream may be mid-frame) and the next call opens a fresh one: after the enclave
 * program restarts, each connection kept from before fails one call, and the secure path
 * then works again without a restart of the node.
 *
 * <p>A call that has no reply after {@code callTimeout} (an enclave that hangs, or stopped
 * reading) has its connection closed from a timer thread, which makes the blocked read
 * fail: the call throws and gives its connection slot back, instead of holding a request
 * and one of the {@code max} slots for ever.
 */
final class EnclaveConnections implements FrameChannel {

    /** Opens one more connection to the enclave program. */
    interface Connector {
        FrameChannel connect() throws IOException;
    }

    /** Closes connections whose call ran past its time; one daemon thread for every instance. */
    private static final class Timer {
        static final ScheduledThreadPoolExecutor EXECUTOR = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon().name("enclave-call-timeout").factory());

        static {
            EXECUTOR.setRemoveOnCancelPolicy(true);
        }
    }

    private final Connector connector;
    private final Semaphore permits;
    private final Duration callTimeout;
    private final Deque<FrameChannel> idle = new ArrayDeque<>();
    private boolean closed;

    /**
     * @param max         connections open at once, at most (the enclave program serves each on a thread of its own)
     * @param callTimeout how long a call waits for the enclave's reply before it fails
     */
    EnclaveConnections(Connector connector, int max, Duration callTimeout) {
        if (max < 1) {
            throw new EnclaveException("enclave connections: max was " + max + ", must be 1 or more");
        }
        this.connector = connector;
        this.permits = new Semaphore(max, true);
        this.callTimeout = callTimeout;
    }

    /** Sends {@code request} on an idle connection, or a new one, and waits for the reply. */
    @Override
    public byte[] call(byte[] request) throws IOException {
        try {
            permits.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a connection to the enclave");
        }
        try {
            FrameChannel kept = takeIdle();
            FrameChannel c = kept != null ? kept : connector.connect();
            var timedOut = new AtomicBoolean();
            ScheduledFuture<?> timer = Timer.EXECUTOR.schedule(() -> {
                timedOut.set(true);
                closeQuietly(c);
            }, callTimeout.toNanos(), TimeUnit.NANOSECONDS);
            byte[] reply;
            try {
                reply = c.call(request);
            } catch (IOException | RuntimeException | Error e) {
                timer.cancel(false);
                closeQuietly(c);
                if (timedOut.get()) {
                    throw new IOException("no reply from the enclave within " + callTimeout.toMillis()
                            + " ms; its connection was closed", e);
                }
                throw e;
            }
            if (timer.cancel(false)) {
                giveBack(c);
            } else {
                closeQuietly(c); // the timer fired as the reply came: the connection is closed or closing
            }
            return reply;
        } finally {
            permits.release();
        }
    }

    private synchronized FrameChannel takeIdle() throws IOException {
        if (closed) {
            throw new IOException("the connections to the enclave are closed");
        }
        return idle.pollFirst();
    }

    private void giveBack(FrameChannel c) {
        synchronized (this) {
            if (!closed) {
                idle.addFirst(c);
                return;
            }
        }
        closeQuietly(c);
    }

    /** Connections open and idle right now. */
    synchronized int idle() {
        return idle.size();
    }

    /** Closes the idle connections now, and each busy one when its call returns. */
    @Override
    public void close() {
        ArrayList<FrameChannel> toClose;
        synchronized (this) {
            closed = true;
            toClose = new ArrayList<>(idle);
            idle.clear();
        }
        toClose.forEach(EnclaveConnections::closeQuietly);
    }

    private static void closeQuietly(FrameChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // It is being dropped; the next call opens another.
        }
    }
}
