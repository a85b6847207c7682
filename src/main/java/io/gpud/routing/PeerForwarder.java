package io.gpud.routing;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.util.ArrayList;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Sends a request to a peer and passes its answer through to the client as it arrives.
 * Connections are HTTP/1.1 keep-alive, pooled per peer by the JDK client; requests run on
 * virtual threads.
 *
 * <p>Transport: with peer TLS ({@link Tls}) requests go to the peer's own listener over
 * mutual TLS 1.3, and the peer's certificate must come from the cluster CA; a failed
 * handshake counts as {@code tls_failed} against the peer. Without it they go over plain
 * HTTP to the peer's data port (a cluster run with {@code gossip.insecure}).
 *
 * <p>Every forwarded request carries {@link #HOP_HEADER} naming this node: a node that
 * receives it on its peer listener (or, without peer TLS, on its data port) serves the
 * request itself and never forwards it again. The W3C {@code traceparent} is continued
 * (same trace id, this hop's new span id) or started, and {@code tracestate} passes
 * unchanged.
 *
 * <p>Deadlines: the first byte of the answer's body must come within
 * {@code routing.firstByteTimeout} of sending, and after it no wait on the peer may be longer
 * than {@code routing.idleTimeout}. A timer per attempt enforces them: when one passes, the
 * exchange is cancelled and the body stream closed, which ends any read blocked on it, and
 * the attempt counts as {@code timeout} against the peer. The timer runs only while this node
 * waits on the peer: it is stopped before each write to the client and started again before
 * the next read, so a client that reads slowly, or stops reading for a while, never counts
 * against the peer.
 *
 * <p>Retries: the next target is tried only while nothing has reached the client, and only
 * when the peer could not be reached, failed the handshake, missed a deadline, broke off
 * before the first byte, or answered 429 or 503. Any other answer, success or error, is
 * passed through. The status and headers go to the client with the first byte of the body,
 * not before, so a peer that sends its headers and then stalls is still retried. Once the
 * first byte is out, a broken or stalled peer stream ends the client's response early; it is
 * not retried (the client may have acted on a partial answer). Connection failures, missed
 * deadlines and 5xx answers other than 503 count against the peer's circuit breaker;
 * answers below 500 close it. Each attempt counts into the peer's load on this node
 * ({@link Router#sent}) until its answer has passed through in full or it failed
 * ({@link Router#finished}).
 *
 * <p>{@link #close} stops the deadline timer's thread and the HTTP client; the node closes
 * the forwarder after its data plane, so no request is forwarded after that.
 */
public final class PeerForwarder implements AutoCloseable {

    /**
     * Request header on forwarded requests: the node that forwarded it. Its presence forbids
     * another hop where it is trusted: on the peer listener, or on the data port of a cluster
     * without peer TLS.
     */
    public static final String HOP_HEADER = "x-gpud-forwarded-by";
    /** W3C trace context. */
    public static final String TRACEPARENT = "traceparent";
    /** W3C trace context, vendor part. */
    public static final String TRACESTATE = "tracestate";

    /** Response headers passed from the peer to the client. */
    public static final List<String> PASSED_RESPONSE_HEADERS = List.of("content-type", "retry-after",
            "cache-control", "x-gpud-node");

    /** Answers up to this size with a Content-Length are read whole and written in one piece. */
    private static final int WHOLE_BODY_BYTES = 4 << 20;

    private static final List<String> PASSED_REQUEST_HEADERS = List.of("content-type", "accept", "authorization",
            "openai-organization", "openai-project", TRACESTATE);

    /**
     * The request as it arrived.
     *
     * @param method      the HTTP method
     * @param path        the path with its query
     * @param body        the body bytes, already read (bounded by the API)
     * @param headers     the request's headers, lower-case names; only some are passed on
     * @param prefixNames the names of the prompt's whole KV blocks as this node computed them,
     *                    sent on in {@link PrefixNamesHeader#NAME}; empty when unknown
     */
    public record Request(String method, String path, byte[] body, Map<String, String> headers, long[] prefixNames) {

        /** A request whose prompt's block names are unknown. */
        public Request(String method, String path, byte[] body, Map<String, String> headers) {
            this(method, path, body, headers, new long[0]);
        }
    }

    /** Where the peer's answer goes: the client's response. */
    public interface ResponseSink {
        /**
         * The peer answered: from here on nothing can be retried. Sets the status and the
         * passed headers and returns the body stream.
         */
        OutputStream begin(int status, Map<String, String> headers) throws IOException;

        /** The peer's whole answer at once (it had a length): status, passed headers, body. */
        void whole(int status, Map<String, String> headers, byte[] body) throws IOException;
    }

    /** How forwarding ended. */
    public sealed interface Outcome {
        /** A peer's answer went to the client, whole. */
        record Delivered(String node, int status, int attempts) implements Outcome {
        }

        /** The client went away while the answer streamed; the peer's request was cancelled. */
        record ClientGone(String node) implements Outcome {
        }

        /** The peer broke off after the answer began; the client got a truncated response. */
        record Broken(String node, String reason) implements Outcome {
        }

        /**
         * No target took the request before anything reached the client.
         *
         * @param tried each target and what happened, for the error message
         * @param retryAfterSeconds the last peer's Retry-After, or 0
         */
        record Exhausted(List<String> tried, int retryAfterSeconds) implements Outcome {
        }
    }

    /**
     * Mutual TLS to peers' listeners.
     *
     * @param context    the cluster's TLS context: this node's certificate, the cluster CA
     * @param parameters the client's parameters (TLS 1.3 only)
     */
    public record Tls(SSLContext context, SSLParameters parameters) {
    }

    private final String nodeId;
    private final Router router;
    private final ExecutorService exchanges;
    private final HttpClient client;
    private final String scheme;
    private final Duration firstByteTimeout;
    private final Duration idleTimeout;
    private final ScheduledExecutorService timers;
    private final RoutingMetrics metrics;

    /**
     * @param tls     mutual TLS to peers' listeners; empty: plain HTTP to their data ports
     * @param metrics forwarding metrics, or null for none
     */
    public PeerForwarder(String nodeId, Router router, Optional<Tls> tls, RoutingMetrics metrics) {
        this.nodeId = nodeId;
        this.router = router;
        this.metrics = metrics;
        this.firstByteTimeout = router.config().firstByteTimeout();
        this.idleTimeout = router.config().idleTimeout();
        this.exchanges = Executors.newVirtualThreadPerTaskExecutor();
        var builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(router.config().connectTimeout())
                .executor(exchanges)
                .followRedirects(HttpClient.Redirect.NEVER);
        tls.ifPresent(t -> builder.sslContext(t.context()).sslParameters(t.parameters()));
        this.client = builder.build();
        this.scheme = tls.isPresent() ? "https" : "http";
        var executor = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon().name("forward-deadlines-" + nodeId).factory());
        executor.setRemoveOnCancelPolicy(true);
        this.timers = executor;
    }

    /**
     * Stops the deadline timer's thread and the HTTP client with its selector thread; an
     * exchange still in flight fails. Forwarding after this fails too.
     */
    @Override
    public void close() {
        timers.shutdownNow();
        client.shutdownNow();
        exchanges.shutdownNow();
    }

    /** Forwards {@code request} to the decision's targets in order; see the class comment. */
    public Outcome forward(RouteDecision.Forward decision, Request request, ResponseSink sink) {
        var tried = new ArrayList<String>();
        String traceparent = nextTraceparent(request.headers().get(TRACEPARENT));
        int retryAfter = 0;
        int attempt = 0;
        for (RouteDecision.Target t : decision.targets()) {
            if (!router.tryAcquire(t.node())) {
                tried.add(t.node() + ": circuit open");
                continue;
            }
            attempt++;
            router.sent(t.node());
            var deadline = new Deadline();
            try {
                HttpResponse<InputStream> response;
                try {
                    response = deadline.send(build(t, request, traceparent));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    tried.add(t.node() + ": interrupted");
                    break;
                } catch (IOException e) {
                    failed(t, tried, deadline, e);
                    continue;
                }
                int status = response.statusCode();
                if (status == 429 || status == 503) {
                    retryAfter = response.headers().firstValue("retry-after").map(PeerForwarder::seconds).orElse(0);
                    deadline.armIdle();
                    discard(response.body());
                    router.succeeded(t.node());
                    tried.add(t.node() + ": answered " + status);
                    count(status == 429 ? "overloaded" : "unavailable");
                    continue;
                }
                Outcome outcome = pass(t, response, deadline, sink, attempt, tried);
                if (outcome == null) {
                    continue;
                }
                if (status >= 500) {
                    breakerFailed(t);
                } else {
                    router.succeeded(t.node());
                }
                return outcome;
            } finally {
                deadline.disarm();
                router.finished(t.node());
            }
        }
        return new Outcome.Exhausted(tried, retryAfter);
    }

    /**
     * One attempt's deadline: armed for the first byte when the request is sent, re-armed
     * for each pause once the answer flows. When it passes, the exchange is cancelled and the
     * body closed, so whatever waits on the peer returns at once.
     */
    private final class Deadline {
        private volatile CompletableFuture<HttpResponse<InputStream>> exchange;
        private volatile InputStream body;
        /** False while the first byte is awaited, true once the answer flows. */
        private volatile boolean flowing;
        private volatile boolean passed;
        private ScheduledFuture<?> timer;

        HttpResponse<InputStream> send(HttpRequest request) throws IOException, InterruptedException {
            exchange = client.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream());
            schedule(firstByteTimeout);
            try {
                HttpResponse<InputStream> response = exchange.get();
                body = response.body();
                if (passed) {
                    closeQuietly(body);
                }
                return response;
            } catch (CancellationException e) {
                throw new IOException("cancelled", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            } catch (InterruptedException e) {
                exchange.cancel(true);
                throw e;
            }
        }

        /**
         * Reads from the body under the armed deadline, which is disarmed once the read
         * returns: what follows (a write to the client) is not the peer's time. A read ended
         * by the deadline is an {@link IOException}.
         */
        int read(byte[] buf, int off, int len) throws IOException {
            try {
                int n = body.read(buf, off, len);
                if (passed) {
                    throw new IOException("deadline passed");
                }
                return n;
            } finally {
                disarm();
            }
        }

        /** The answer flows: the next read from the peer must return within the idle timeout. */
        void armIdle() {
            flowing = true;
            schedule(idleTimeout);
        }

        private synchronized void schedule(Duration after) {
            disarm();
            timer = timers.schedule(this::expire, after.toNanos(), TimeUnit.NANOSECONDS);
        }

        synchronized void disarm() {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }

        private void expire() {
            passed = true;
            var e = exchange;
            if (e != null) {
                e.cancel(true);
            }
            var b = body;
            if (b != null) {
                closeQuietly(b);
            }
        }

        /** What went wrong, for the error message: the deadline, or {@code e}. */
        String explain(IOException e) {
            if (!passed) {
                return "request failed (" + e + ")";
            }
            return !flowing
                    ? "no answer within " + firstByteTimeout.toMillis() + " ms (routing.firstByteTimeout)"
                    : "answer stalled for " + idleTimeout.toMillis() + " ms (routing.idleTimeout)";
        }
    }

    /** The attempt failed before anything reached the client: recorded, counted, and the next target is tried. */
    private void failed(RouteDecision.Target t, List<String> tried, Deadline deadline, IOException e) {
        String result;
        String what;
        if (deadline.passed) {
            result = "timeout";
            what = deadline.explain(e);
        } else if (e instanceof HttpConnectTimeoutException || e instanceof ConnectException
                || e.getCause() instanceof UnresolvedAddressException) {
            result = "connect_failed";
            what = "connect failed (" + e.getClass().getSimpleName() + ")";
        } else if (causedBy(e, SSLException.class)) {
            result = "tls_failed";
            what = "TLS handshake failed (" + e.getMessage() + "); is its certificate from the cluster CA?";
        } else {
            result = "error";
            what = deadline.explain(e);
        }
        tried.add(t.node() + " (" + t.host() + ":" + t.port() + "): " + what);
        count(result);
        breakerFailed(t);
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    private void breakerFailed(RouteDecision.Target t) {
        if (router.failed(t.node()) && metrics != null) {
            metrics.circuitsOpened.inc(t.node());
        }
    }

    private void count(String result) {
        if (metrics != null) {
            metrics.attempts.inc(result);
        }
    }

    /**
     * Passes the answer to the client, from its first body byte on; null when the peer
     * failed before that byte (the failure is recorded, and the next target may be tried).
     */
    private Outcome pass(RouteDecision.Target t, HttpResponse<InputStream> response, Deadline deadline,
                         ResponseSink sink, int attempt, List<String> tried) {
        var headers = new LinkedHashMap<String, String>();
        for (String name : PASSED_RESPONSE_HEADERS) {
            response.headers().firstValue(name).ifPresent(v -> headers.put(name, v));
        }
        headers.putIfAbsent("x-gpud-node", t.node());
        long length = response.headers().firstValueAsLong("content-length").orElse(-1);
        if (length >= 0 && length <= WHOLE_BODY_BYTES) {
            return passWhole(t, response, deadline, sink, attempt, headers, (int) length, tried);
        }
        try (InputStream in = response.body()) {
            byte[] buf = new byte[16 * 1024];
            int n;
            try {
                n = deadline.read(buf, 0, buf.length);
            } catch (IOException e) {
                failed(t, tried, deadline, e);
                return null;
            }
            count("ok");
            OutputStream out;
            try {
                out = sink.begin(response.statusCode(), headers);
            } catch (IOException e) {
                return new Outcome.ClientGone(t.node());
            }
            while (n >= 0) {
                try {
                    out.write(buf, 0, n);
                    if (in.available() == 0) {
                        out.flush();
                    }
                } catch (IOException e) {
                    return new Outcome.ClientGone(t.node());
                }
                deadline.armIdle();
                try {
                    n = deadline.read(buf, 0, buf.length);
                } catch (IOException e) {
                    breakerFailed(t);
                    closeQuietly(out);
                    return new Outcome.Broken(t.node(), deadline.explain(e));
                }
            }
            try {
                out.close();
            } catch (IOException e) {
                return new Outcome.ClientGone(t.node());
            }
            return new Outcome.Delivered(t.node(), response.statusCode(), attempt);
        } catch (IOException e) {
            return new Outcome.Delivered(t.node(), response.statusCode(), attempt);
        }
    }

    /** A whole (non-streamed) answer of known length: read under the deadlines, then written in one piece. */
    private Outcome passWhole(RouteDecision.Target t, HttpResponse<InputStream> response, Deadline deadline,
                              ResponseSink sink, int attempt, Map<String, String> headers, int length,
                              List<String> tried) {
        byte[] body = new byte[length];
        try (InputStream in = response.body()) {
            int off = 0;
            while (off < length) {
                int n = deadline.read(body, off, length - off);
                if (n < 0) {
                    throw new EOFException("the answer ended after " + off + " of its " + length + " bytes");
                }
                off += n;
                if (off < length) {
                    deadline.armIdle();
                }
            }
            deadline.disarm();
        } catch (IOException e) {
            failed(t, tried, deadline, e);
            return null;
        }
        count("ok");
        try {
            sink.whole(response.statusCode(), headers, body);
        } catch (IOException e) {
            return new Outcome.ClientGone(t.node());
        }
        return new Outcome.Delivered(t.node(), response.statusCode(), attempt);
    }

    /**
     * The first header this forwarder passes on whose value an HTTP/1.1 field cannot carry
     * (a control character, or a character beyond Latin-1 that the server decoded), or null.
     * Such a request is the client's error and is refused before any peer is tried.
     */
    public static String unforwardableHeader(Map<String, String> headers) {
        for (String name : PASSED_REQUEST_HEADERS) {
            String v = headers.get(name);
            if (v != null && !v.chars().allMatch(c -> c == '\t' || c >= 0x20 && c <= 0x7e || c >= 0x80 && c <= 0xff)) {
                return name;
            }
        }
        return null;
    }

    private HttpRequest build(RouteDecision.Target t, Request request, String traceparent) {
        var b = HttpRequest.newBuilder(URI.create(scheme + "://" + hostLiteral(t.host()) + ":" + t.port()
                        + request.path()))
                .method(request.method(), request.body() == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(request.body()))
                .header(HOP_HEADER, nodeId)
                .header(TRACEPARENT, traceparent);
        String names = PrefixNamesHeader.encode(request.prefixNames());
        if (names != null) {
            b.header(PrefixNamesHeader.NAME, names);
        }
        for (String name : PASSED_REQUEST_HEADERS) {
            String v = request.headers().get(name);
            if (v != null) {
                b.header(name, v);
            }
        }
        return b.build();
    }

    private static String hostLiteral(String host) {
        return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /**
     * The traceparent for the hop: the incoming trace id with a new span id, or a new trace
     * when the incoming one is absent or malformed.
     */
    static String nextTraceparent(String incoming) {
        var random = ThreadLocalRandom.current();
        String span = HexFormat.of().toHexDigits(random.nextLong() | 1L);
        if (incoming != null && incoming.matches("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
                && !incoming.startsWith("ff") && !incoming.substring(3, 35).equals("0".repeat(32))) {
            return "00-" + incoming.substring(3, 35) + "-" + span + "-" + incoming.substring(53, 55);
        }
        String trace = HexFormat.of().toHexDigits(random.nextLong()) + HexFormat.of().toHexDigits(random.nextLong() | 1L);
        return "00-" + trace + "-" + span + "-01";
    }

    private static int seconds(String v) {
        try {
            return Math.max(0, Math.min(3600, Integer.parseInt(v.strip())));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    private static void discard(InputStream in) {
        try (in) {
            in.skip(64 * 1024);
        } catch (IOException ignored) {
            // the connection is dropped instead of reused
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // the connection is going away anyway
        }
    }
}
