package io.gpud.api;

import io.gpud.config.ApiConfig;
import io.gpud.core.MonotonicClock;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.common.socket.PeerInfo;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Read deadlines and per-client connection limits for every HTTP/1.1 connection of the
 * server's listeners, in front of Helidon's own HTTP/1.1 connection.
 *
 * <p>Helidon reads requests with blocking reads that never time out (its {@code readTimeout}
 * socket option is a client setting; the server's channels ignore it) and keeps idle
 * connections for minutes, so a client that trickles a header line every few seconds holds
 * a connection, a thread and a descriptor for as long as it likes. Here each connection
 * runs on one thread, and the guard knows which phase that thread is in:
 * <ul>
 *   <li>waiting for a request's line and headers — from the accept (or the request line)
 *       until the headers are read, at most {@code api.headerTimeout};</li>
 *   <li>reading a body — inside {@link #readingBody}, at most {@code api.bodyTimeout};</li>
 *   <li>idle between requests — at most {@code api.idleTimeout} until the next request's
 *       headers are read;</li>
 *   <li>handling a request — no deadline (a generation may queue and stream for long).</li>
 * </ul>
 * A watchdog interrupts a thread whose phase is past its deadline; the interrupt closes the
 * connection's channel under the blocked read, and the connection ends. Phase changes and
 * the watchdog's check hold the connection's lock, so an interrupt never lands in a handler.
 *
 * <p>A client is its address: with the PROXY protocol on, the source address the balancer's
 * header names. That header is read by Helidon before any connection selector runs, so these
 * deadlines do not cover it. The peer listener's TLS handshake is: Helidon's NIO sockets (its
 * default) run the handshake inside the connection's first reads, within the header deadline.
 *
 * <p>This is a connection selector (the only one on the listener, so Helidon hands it every
 * accepted connection before reading a byte) wrapping Helidon's HTTP/1.1 selector, and a
 * receive listener of Helidon's HTTP/1.1 connection, which reports the request line and the
 * headers as they are read.
 */
final class ConnectionGuard implements ServerConnectionSelector, Http1ConnectionListener, AutoCloseable {

    private final ServerConnectionSelector http1;
    private final MonotonicClock clock;
    private final long headerNanos;
    private final long bodyNanos;
    private final long idleNanos;
    private final int perClient;
    private final RefusalLog refusals;
    private final Supplier<byte[]> tooManyFromClient;
    private final Map<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    private final Map<Thread, Phase> phases = new ConcurrentHashMap<>();
    private final ScheduledExecutorService watchdog;

    /** What a connection's thread is doing, and until when it may. */
    private static final class Phase {
        String what;           // "headers", "body", "idle", or null while handling (no deadline)
        long deadlineNanos;
        boolean cut;           // interrupted by the watchdog since the last phase change
    }

    ConnectionGuard(ApiConfig config, MonotonicClock clock, RefusalLog refusals,
                    Supplier<byte[]> tooManyFromClient) {
        this.http1 = Http1ConnectionSelector.builder()
                .config(Http1Config.builder().addReceiveListener(this).build())
                .build();
        this.clock = clock;
        this.headerNanos = config.headerTimeout().toNanos();
        this.bodyNanos = config.bodyTimeout().toNanos();
        this.idleNanos = config.idleTimeout().toNanos();
        this.perClient = config.maxConnectionsPerClient();
        this.refusals = refusals;
        this.tooManyFromClient = tooManyFromClient;
        long shortest = Math.min(headerNanos, Math.min(bodyNanos, idleNanos));
        long tickMillis = Math.clamp(TimeUnit.NANOSECONDS.toMillis(shortest) / 4, 20, 1000);
        this.watchdog = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("gpud-http-deadlines").factory());
        watchdog.scheduleWithFixedDelay(this::cutLate, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public int bytesToIdentifyConnection() {
        return 0;
    }

    @Override
    public Support supports(BufferData data) {
        return Support.SUPPORTED;
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return http1.supportedApplicationProtocols();
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        InetAddress client = clientOf(ctx.proxyProtocolData(), ctx.remotePeer());
        if (client != null && perAddress.merge(client, 1, Integer::sum) > perClient) {
            release(client);
            refusals.refused("connections per client", client + " already holds " + perClient
                    + " connections (api.maxConnectionsPerClient); answered 429 and closed");
            return new Refused(ctx, tooManyFromClient.get());
        }
        return new Guarded(http1.connection(ctx), client);
    }

    /**
     * The client a request came from: the source address of its connection's PROXY protocol
     * header when the listener takes one (the balancer's own address says nothing of the
     * client), else the connection's peer; null when neither is an IP address.
     */
    static InetAddress clientOf(ServerRequest request) {
        return clientOf(request.proxyProtocolData(), request.remotePeer());
    }

    private static InetAddress clientOf(Optional<ProxyProtocolData> proxy, PeerInfo peer) {
        if (proxy.isPresent()) {
            try {
                return InetAddress.ofLiteral(proxy.get().sourceAddress());
            } catch (IllegalArgumentException | NullPointerException unknown) {
                // PROXY UNKNOWN (a balancer's health check): no client address given
            }
        }
        return peer.address() instanceof InetSocketAddress a ? a.getAddress() : null;
    }

    /**
     * One connection of {@code client} ended. The count and its removal at zero are one
     * atomic step: a count dropped from the map while another connection of the client was
     * adding to it would leave that connection, and each one after it, uncounted.
     */
    private void release(InetAddress client) {
        if (client != null) {
            perAddress.computeIfPresent(client, (c, open) -> open == 1 ? null : open - 1);
        }
    }

    /** Connections open per client address now (clients with none are absent). */
    int connectionsOf(InetAddress client) {
        return perAddress.getOrDefault(client, 0);
    }

    /** Headers and request line read: the request is being handled, no deadline. */
    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        move(null, 0);
    }

    /** A request line read: its headers must follow within the header deadline. */
    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        Phase p = phases.get(Thread.currentThread());
        if (p != null) {
            synchronized (p) {
                // The first request's headers stay within the deadline from the accept; a
                // later request's are timed from its request line, not from the idle phase.
                long headersBy = clock.nanos() + headerNanos;
                clearCut(p);
                if (!"headers".equals(p.what) || headersBy - p.deadlineNanos < 0) {
                    p.what = "headers";
                    p.deadlineNanos = headersBy;
                }
            }
        }
    }

    /** The request on this thread is answered: the next must come within the idle deadline. */
    void requestDone() {
        move("idle", idleNanos);
    }

    /**
     * Runs {@code read} (this thread reading its request's body) under the body deadline.
     * Past it, the connection is closed under the read, which then fails.
     */
    <T> T readingBody(Supplier<T> read) {
        move("body", bodyNanos);
        try {
            return read.get();
        } finally {
            move(null, 0);
        }
    }

    /**
     * Whether this thread is reading a request's line and headers (or waiting for them, or
     * was cut by a deadline): a failure now is in the client's bytes, not in a handler.
     */
    boolean readingRequestHead() {
        Phase p = phases.get(Thread.currentThread());
        if (p == null) {
            return false;
        }
        synchronized (p) {
            return p.cut || "headers".equals(p.what) || "idle".equals(p.what);
        }
    }

    /** Whether the body read on this thread was cut by its deadline; clears the interrupt it caused. */
    boolean cutByDeadline() {
        Phase p = phases.get(Thread.currentThread());
        if (p == null) {
            return false;
        }
        synchronized (p) {
            boolean cut = p.cut;
            clearCut(p);
            return cut;
        }
    }

    private void move(String what, long allowedNanos) {
        Phase p = phases.get(Thread.currentThread());
        if (p != null) {
            synchronized (p) {
                clearCut(p);
                p.what = what;
                p.deadlineNanos = clock.nanos() + allowedNanos;
            }
        }
    }

    /**
     * The watchdog may cut a phase just as its read completed: the interrupt then found no
     * blocked read to end and only set this thread's flag, which the next blocking call (a
     * handler's) would take as its own. The phase ended in time after all, so the flag is
     * cleared when the thread moves on. Holds {@code p}'s lock.
     */
    private static void clearCut(Phase p) {
        if (p.cut) {
            p.cut = false;
            Thread.interrupted();
        }
    }

    private void cutLate() {
        long now = clock.nanos();
        phases.forEach((thread, p) -> {
            synchronized (p) {
                if (p.what != null && now - p.deadlineNanos > 0) {
                    String setting = switch (p.what) {
                        case "headers" -> "api.headerTimeout";
                        case "body" -> "api.bodyTimeout";
                        default -> "api.idleTimeout";
                    };
                    refusals.refused(p.what + " deadline", "a connection passed its " + p.what + " deadline ("
                            + setting + ") and is closed");
                    p.what = null;
                    p.cut = true;
                    thread.interrupt();
                }
            }
        });
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
    }

    /** Helidon's HTTP/1.1 connection, with this thread's phases tracked while it runs. */
    private final class Guarded implements ServerConnection {
        private final ServerConnection delegate;
        private final InetAddress client;

        Guarded(ServerConnection delegate, InetAddress client) {
            this.delegate = delegate;
            this.client = client;
        }

        @Override
        public void handle(Limit limit) throws InterruptedException {
            var phase = new Phase();
            phase.what = "headers";
            phase.deadlineNanos = clock.nanos() + headerNanos;
            phases.put(Thread.currentThread(), phase);
            try {
                delegate.handle(limit);
            } finally {
                synchronized (phase) {
                    // no interrupt from here on: the thread may go on to other work
                    phase.what = null;
                    phases.remove(Thread.currentThread());
                    clearCut(phase);
                }
                release(client);
            }
        }

        @Override
        @SuppressWarnings("removal")
        public void handle(java.util.concurrent.Semaphore requestSemaphore) throws InterruptedException {
            handle(io.helidon.common.concurrency.limits.FixedLimit.create(requestSemaphore));
        }

        @Override
        public Duration idleTime() {
            return delegate.idleTime();
        }

        @Override
        public void close(boolean interrupt) {
            delegate.close(interrupt);
        }
    }

    /** A connection refused before reading: one response, then closed. */
    private static final class Refused implements ServerConnection {
        private final ConnectionContext ctx;
        private final byte[] response;

        Refused(ConnectionContext ctx, byte[] response) {
            this.ctx = ctx;
            this.response = response;
        }

        @Override
        public void handle(Limit limit) {
            try {
                ctx.dataWriter().writeNow(BufferData.create(response));
            } catch (RuntimeException clientGone) {
                // nothing to tell a client that is gone
            }
        }

        @Override
        @SuppressWarnings("removal")
        public void handle(java.util.concurrent.Semaphore requestSemaphore) {
            handle((Limit) null);
        }

        @Override
        public Duration idleTime() {
            return Duration.ZERO;
        }

        @Override
        public void close(boolean interrupt) {
        }
    }

    /** A complete HTTP/1.1 response with a JSON body and {@code Connection: close}. */
    static byte[] closingResponse(int status, String reason, Map<String, String> headers, byte[] body) {
        var head = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
        headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length)
                .append("\r\nConnection: close\r\n\r\n");
        byte[] h = head.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[h.length + body.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }
}
