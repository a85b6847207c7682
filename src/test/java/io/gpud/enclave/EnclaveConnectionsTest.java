package io.gpud.enclave;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.enclave.protocol.FrameChannel;
import java.io.IOException;
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
        }, max);
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
    void aFailedConnectGivesItsTurnBack() {
        var refused = new EnclaveConnections(() -> {
            throw new IOException("connection refused");
        }, 1);
        var unreachable = new EnclaveConnections(() -> {
            throw new EnclaveException("cannot reach the enclave");
        }, 1);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertThrows(IOException.class, () -> refused.call(new byte[] {1}));
            assertThrows(IOException.class, () -> refused.call(new byte[] {1}), "the second call was not left waiting");
            assertThrows(EnclaveException.class, () -> unreachable.call(new byte[] {1}));
            assertThrows(EnclaveException.class, () -> unreachable.call(new byte[] {1}));
        });
    }
}
