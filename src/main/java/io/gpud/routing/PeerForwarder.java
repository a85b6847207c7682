package io.gpud.routing;

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
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Sends a request to a peer's data port and passes its answer through to the client as it
 * arrives. Connections are HTTP/1.1 keep-alive, pooled per peer by the JDK client; requests
 * run on virtual threads.
 *
 * <p>Every forwarded request carries {@link #HOP_HEADER} naming this node: a node that
 * receives it serves the request itself and never forwards it again. The W3C
 * {@code traceparent} is continued (same trace id, this hop's new span id) or started, and
 * {@code tracestate} passes unchanged.
 *
 * <p>Retries: the next target is tried only while nothing has reached the client, and only
 * when the peer could not be reached or answered 429 or 503. Any other answer, success or
 * error, is passed through. Once the first byte is out, a broken peer stream ends the
 * client's response early; it is not retried (the client may have acted on a partial
 * answer). Connection failures and 5xx answers other than 503 count against the peer's
 * circuit breaker; answers below 500 close it. Each attempt counts into the peer's load on
 * this node ({@link Router#sent}) until its answer has passed through in full or it
 * failed ({@link Router#finished}).
 */
public final class PeerForwarder {

    /** Request header on forwarded requests: the node that forwarded it. Its presence forbids another hop. */
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
     */
    public record Request(String method, String path, byte[] body, Map<String, String> headers) {
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

    private final String nodeId;
    private final Router router;
    private final HttpClient client;
    private final RoutingMetrics metrics;

    /**
     * @param metrics forwarding metrics, or null for none
     */
    public PeerForwarder(String nodeId, Router router, RoutingMetrics metrics) {
        this.nodeId = nodeId;
        this.router = router;
        this.metrics = metrics;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(router.config().connectTimeout())
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
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
            try {
                HttpResponse<InputStream> response;
                try {
                    response = client.send(build(t, request, traceparent), HttpResponse.BodyHandlers.ofInputStream());
                } catch (HttpConnectTimeoutException | ConnectException | UnresolvedAddressException e) {
                    fail(t, tried, "connect failed (" + e.getClass().getSimpleName() + ")", "connect_failed");
                    continue;
                } catch (IOException e) {
                    fail(t, tried, "request failed (" + e + ")", "error");
                    continue;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    tried.add(t.node() + ": interrupted");
                    break;
                }
                int status = response.statusCode();
                if (status == 429 || status == 503) {
                    retryAfter = response.headers().firstValue("retry-after").map(PeerForwarder::seconds).orElse(0);
                    discard(response.body());
                    router.succeeded(t.node());
                    tried.add(t.node() + ": answered " + status);
                    count(status == 429 ? "overloaded" : "unavailable");
                    continue;
                }
                if (status >= 500) {
                    if (router.failed(t.node()) && metrics != null) {
                        metrics.circuitsOpened.inc(t.node());
                    }
                } else {
                    router.succeeded(t.node());
                }
                count("ok");
                return pass(t, response, sink, attempt);
            } finally {
                router.finished(t.node());
            }
        }
        return new Outcome.Exhausted(tried, retryAfter);
    }

    private void fail(RouteDecision.Target t, List<String> tried, String what, String result) {
        tried.add(t.node() + " (" + t.host() + ":" + t.port() + "): " + what);
        count(result);
        if (router.failed(t.node()) && metrics != null) {
            metrics.circuitsOpened.inc(t.node());
        }
    }

    private void count(String result) {
        if (metrics != null) {
            metrics.attempts.inc(result);
        }
    }

    private Outcome pass(RouteDecision.Target t, HttpResponse<InputStream> response, ResponseSink sink, int attempt) {
        var headers = new java.util.LinkedHashMap<String, String>();
        for (String name : PASSED_RESPONSE_HEADERS) {
            response.headers().firstValue(name).ifPresent(v -> headers.put(name, v));
        }
        headers.putIfAbsent("x-gpud-node", t.node());
        long length = response.headers().firstValueAsLong("content-length").orElse(-1);
        if (length >= 0 && length <= WHOLE_BODY_BYTES) {
            return passWhole(t, response, sink, attempt, headers, (int) length);
        }
        try (InputStream in = response.body()) {
            OutputStream out;
            try {
                out = sink.begin(response.statusCode(), headers);
            } catch (IOException e) {
                return new Outcome.ClientGone(t.node());
            }
            byte[] buf = new byte[16 * 1024];
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    if (router.failed(t.node()) && metrics != null) {
                        metrics.circuitsOpened.inc(t.node());
                    }
                    closeQuietly(out);
                    return new Outcome.Broken(t.node(), e.toString());
                }
                if (n < 0) {
                    break;
                }
                try {
                    out.write(buf, 0, n);
                    if (in.available() == 0) {
                        out.flush();
                    }
                } catch (IOException e) {
                    return new Outcome.ClientGone(t.node());
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

    /** A whole (non-streamed) answer of known length: read, then written in one piece. */
    private Outcome passWhole(RouteDecision.Target t, HttpResponse<InputStream> response, ResponseSink sink,
                              int attempt, Map<String, String> headers, int length) {
        byte[] body;
        try (InputStream in = response.body()) {
            body = in.readNBytes(length);
        } catch (IOException e) {
            if (router.failed(t.node()) && metrics != null) {
                metrics.circuitsOpened.inc(t.node());
            }
            return new Outcome.Broken(t.node(), e.toString());
        }
        try {
            sink.whole(response.statusCode(), headers, body);
        } catch (IOException e) {
            return new Outcome.ClientGone(t.node());
        }
        return new Outcome.Delivered(t.node(), response.statusCode(), attempt);
    }

    private HttpRequest build(RouteDecision.Target t, Request request, String traceparent) {
        var b = HttpRequest.newBuilder(URI.create("http://" + hostLiteral(t.host()) + ":" + t.port() + request.path()))
                .method(request.method(), request.body() == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(request.body()))
                .header(HOP_HEADER, nodeId)
                .header(TRACEPARENT, traceparent);
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

    private static void closeQuietly(OutputStream out) {
        try {
            out.close();
        } catch (IOException ignored) {
            // the client's connection is going away anyway
        }
    }
}
