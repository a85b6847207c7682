package io.gpud.enclave;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.enclave.protocol.FrameChannel;
import io.gpud.enclave.protocol.Frames;
import io.gpud.enclave.protocol.StreamFrameChannel;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnclaveConnectionsTest {

    /** A connection that echoes, optionally waits at a gate first, and fails when told to. */
    static final class Fake implements FrameChannel {
        final AtomicInteger busy;
        final AtomicInteger mostBusy;
        final CountDownLatch gate;
        volatile boolean fail;
        volatile boolean closed;
        int calls;

        Fake(AtomicInteger busy, AtomicInteger mostBusy, CountDownLatch gate) {
            this.busy = busy;
            this.mostBusy = mostBusy;
            this.gate = gate;
        }

        @Override
        public byte[] call(byte[] request) throws IOException {
            if (closed) {
                throw new IOException("closed");
            }
            int now = busy.incrementAndGet();
            mostBusy.accumulateAndGet(now, Math::max);
            try {
                calls++;
                if (!gate.await(10, TimeUnit.SECONDS)) {
                    throw new IOException("gate never opened");
                }
                if (fail) {
                    throw new IOException("broken pipe");
                }
                return request;
            } catch (InterruptedException e) {
                throw new IOException(e);
            } finally {
                busy.decrementAndGet();
            }
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    final AtomicInteger busy = new AtomicInteger();
    final AtomicInteger mostBusy = new AtomicInteger();
    final List<Fake> opened = new ArrayList<>();

    EnclaveConnections connections(int max, CountDownLatch gate) {
        return new EnclaveConnections(() -> {
            synchronized (opened) {
                var f = new Fake(busy, mostBusy, gate);
                opened.add(f);
                return f;
            }
        }, max, Duration.ofSeconds(30));
    }

    @Test
    void concurrentCallsRunOnSeparateConnectionsUpToTheCap() throws Exception {
        var gate = new CountDownLatch(1);
        var c = connections(3, gate);
        ExecutorService callers = Executors.newFixedThreadPool(5);
        try {
            List<Future<byte[]>> replies = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                byte[] request = {(byte) i};
                replies.add(callers.submit(() -> c.call(request)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (busy.get() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(3, busy.get(), "three calls in flight at once, on three connections");
            gate.countDown();
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(new byte[] {(byte) i}, replies.get(i).get(10, TimeUnit.SECONDS));
            }
        } finally {
            callers.shutdownNow();
        }
        assertEquals(3, mostBusy.get(), "never more than the cap at once");
        assertEquals(3, opened.size(), "the two waiting calls reused connections instead of opening more");
        assertEquals(3, c.idle());
    }

    @Test
    void aConnectionThatFailsIsClosedAndReplacedAndTheIdleOnesCloseWithThePool() throws Exception {
        var open = new CountDownLatch(0);
        var c = connections(2, open);
        assertArrayEquals(new byte[] {1}, c.call(new byte[] {1}));
        Fake first = opened.getFirst();
        first.fail = true;
        assertThrows(IOException.class, () -> c.call(new byte[] {2}));
        assertTrue(first.closed, "a connection whose call failed may be mid-frame: closed, not reused");
        assertEquals(0, c.idle());
        assertArrayEquals(new byte[] {3}, c.call(new byte[] {3}));
        assertEquals(2, opened.size(), "the next call opened a fresh connection");
        assertEquals(1, opened.get(1).calls);
        c.close();
        assertTrue(opened.get(1).closed);
        assertThrows(IOException.class, () -> c.call(new byte[] {4}));
        assertEquals(2, opened.size(), "nothing opens after close");
    }

    @Test
    void aCallWithoutAReplyFailsAfterTheTimeoutAndTheNextConnectionWorks(@TempDir Path dir) throws Exception {
        // An enclave program over a real Unix socket whose first connection reads and never
        // answers (it hangs); later connections echo.
        Path socket = dir.resolve("enclave.sock");
        var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socket));
        var accepted = new AtomicInteger();
        Thread acceptor = Thread.ofVirtual().start(() -> {
            while (true) {
                SocketChannel ch;
                try {
                    ch = server.accept();
                } catch (IOException closed) {
                    return;
                }
                boolean hang = accepted.incrementAndGet() == 1;
                Thread.ofVirtual().start(() -> {
                    try (ch; var in = Channels.newInputStream(ch); var out = Channels.newOutputStream(ch)) {
                        byte[] request;
                        while ((request = Frames.read(in, 1024)) != null) {
                            if (!hang) {
                                Frames.write(out, request, 1024);
                            }
                        }
                    } catch (IOException gone) {
                        // the parent closed it
                    }
                });
            }
        });
        var c = new EnclaveConnections(() -> StreamFrameChannel.unix(socket, 1024), 1, Duration.ofMillis(300));
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                long start = System.nanoTime();
                var e = assertThrows(IOException.class, () -> c.call(new byte[] {1}));
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertTrue(e.getMessage().contains("no reply from the enclave within 300 ms"), e.getMessage());
                assertTrue(tookMs >= 300, "failed after " + tookMs + " ms");
                assertEquals(0, c.idle(), "the hung connection is not kept");
                // The one slot was given back, and a fresh connection answers.
                assertArrayEquals(new byte[] {2}, c.call(new byte[] {2}));
                assertArrayEquals(new byte[] {3}, c.call(new byte[] {3}));
            });
            assertEquals(2, accepted.get(), "one connection replaced the hung one, then was kept");
        } finally {
            c.close();
            server.close();
            acceptor.join(5_000);
        }
    }

    @Test
    void aFailedConnectGivesItsTurnBack() {
        var refused = new EnclaveConnections(() -> {
            throw new IOException("connection refused");
        }, 1, Duration.ofSeconds(30));
        var unreachable = new EnclaveConnections(() -> {
            throw new EnclaveException("cannot reach the enclave");
        }, 1, Duration.ofSeconds(30));
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertThrows(IOException.class, () -> refused.call(new byte[] {1}));
            assertThrows(IOException.class, () -> refused.call(new byte[] {1}), "the second call was not left waiting");
            assertThrows(EnclaveException.class, () -> unreachable.call(new byte[] {1}));
            assertThrows(EnclaveException.class, () -> unreachable.call(new byte[] {1}));
        });
    }
}
