package io.gpud.config;

import java.time.Duration;
import java.util.List;

/**
 * The data-plane HTTP server and the metrics server.
 *
 * @param host                    address both servers bind; {@code 0.0.0.0} for every
 *                                interface. Peers and clients must reach the data port;
 *                                nothing administrative listens on TCP
 * @param port                    data plane: OpenAI {@code /v1}, Ollama {@code /api}, health.
 *                                0 picks a free port (tests)
 * @param metricsPort             Prometheus {@code /metrics}. 0 picks a free port
 * @param maxBodyBytes            request bodies above this are refused with 413 before they
 *                                are read whole, and the connection is closed. Raising it
 *                                lets longer prompts in and costs that much memory per body
 *                                being read
 * @param maxJsonDepth            nesting depth above which a JSON body is refused with 400
 * @param retryAfter              the {@code Retry-After} sent with 429/503 (overload, draining)
 * @param maxConnections          open data-plane connections at most; further ones wait in
 *                                the listen backlog until one closes. The server lowers it at
 *                                start to fit the process's file-descriptor limit with
 *                                headroom ({@code (limit - open - 192 - peers) / 2}, where
 *                                {@code peers} is the peer listener's own cap, at most 256
 *                                and a quarter of the spare descriptors: half the rest stay
 *                                free for forwards to peers, files and gossip), so a flood of connections cannot take the
 *                                descriptors the listener needs to accept again
 * @param maxConnectionsPerClient open data-plane connections from one client address at
 *                                most (behind a PROXY-protocol balancer, the address its
 *                                header names); more are answered 429 and closed. Peers forwarding
 *                                to this node count as clients, so keep it well above the
 *                                concurrency one peer sends
  * @param bodyMemoryBytes         heap all requests together may hold for their bodies: the
 *                                bytes as they arrive (a declared length reserves nothing
 *                                ahead of them), then, until the request is answered, its
 *                                text and parsed tree, counted from the body's JSON tokens
 *                                (64 bytes each; a body may hold at most maxBodyBytes / 8
 *                                tokens), so a 1 MiB body may hold up to ~13 MiB. A body
 *                                that does not fit is refused with 503, one that does not
 *                                fit its client's share (a quarter, by address) with 429,
 *                                both with {@code Retry-After}. The server lowers it at start
 *                                to an eighth of the maximum heap and raises it (and the
 *                                share) to what the largest body allowed may hold. Raising it
 *                                admits more large bodies at once and costs that much heap
 * @param headerTimeout           a request's line and headers must arrive within this of
 *                                its first byte (and the first request within this of the
 *                                connection's accept); a slower client is disconnected.
 *                                Lower cuts slow clients sooner; raise it only for clients
 *                                on very slow links
 * @param bodyTimeout             a request body must arrive whole within this of the handler
 *                                starting to read it; a slower client is disconnected
 * @param idleTimeout             a keep-alive connection with no request for this long is
 *                                closed, freeing its descriptor
 * @param corsOrigins             web origins (e.g. {@code https://chat.example.com}) whose pages
 *                                may call the OpenAI and Ollama routes from a browser: their
 *                                preflight {@code OPTIONS} is answered and responses carry
 *                                {@code Access-Control-Allow-Origin}. {@code *} allows every
 *                                origin. Empty (the default): no CORS headers, so browsers
 *                                keep other sites' pages off the API; a front end served from
 *                                its own server (Open WebUI's backend) needs none
 */
public record ApiConfig(
        String host,
        int port,
        int metricsPort,
        long maxBodyBytes,
        int maxJsonDepth,
        Duration retryAfter,
        int maxConnections,
        int maxConnectionsPerClient,
        long bodyMemoryBytes,
        Duration headerTimeout,
        Duration bodyTimeout,
        Duration idleTimeout,
        List<String> corsOrigins) {

    /** Default connection cap: ample for a GPU node; the descriptor limit may lower it. */
    static final int MAX_CONNECTIONS = 10_000;
    /** Default per-client cap: one address may hold a tenth of the default cap. */
    static final int MAX_CONNECTIONS_PER_CLIENT = 1_000;
    /** Default budget for bodies in memory: 64 bodies of 1 MiB at once. */
    static final long BODY_MEMORY_BYTES = 64L << 20;
    static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    static final Duration BODY_TIMEOUT = Duration.ofSeconds(30);
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);

    public ApiConfig {
        Validate.notBlank("api.host", host);
        Validate.port("api.port", port);
        Validate.port("api.metricsPort", metricsPort);
        Validate.range("api.maxBodyBytes", maxBodyBytes, 1024, 1L << 30);
        Validate.range("api.maxJsonDepth", maxJsonDepth, 4, 1000);
        Validate.positive("api.retryAfter", retryAfter);
        Validate.range("api.maxConnections", maxConnections, 16, 1_000_000);
        Validate.range("api.maxConnectionsPerClient", maxConnectionsPerClient, 1, maxConnections);
        Validate.range("api.bodyMemoryBytes", bodyMemoryBytes, maxBodyBytes, 1L << 40);
        Validate.positive("api.headerTimeout", headerTimeout);
        Validate.positive("api.bodyTimeout", bodyTimeout);
        Validate.positive("api.idleTimeout", idleTimeout);
        corsOrigins = List.copyOf(corsOrigins == null ? List.of() : corsOrigins);
        for (String origin : corsOrigins) {
            if (!origin.equals("*") && !origin.matches("https?://[^/\\s]+")) {
                throw ConfigException.invalid("api.corsOrigins", "has '" + origin
                        + "': an origin is * or scheme://host[:port], with no path");
            }
        }
    }

    /** These settings without CORS. */
    public ApiConfig(String host, int port, int metricsPort, long maxBodyBytes, int maxJsonDepth, Duration retryAfter,
                     int maxConnections, int maxConnectionsPerClient, long bodyMemoryBytes, Duration headerTimeout,
                     Duration bodyTimeout, Duration idleTimeout) {
        this(host, port, metricsPort, maxBodyBytes, maxJsonDepth, retryAfter, maxConnections, maxConnectionsPerClient,
                bodyMemoryBytes, headerTimeout, bodyTimeout, idleTimeout, List.of());
    }

    /** These ports and body limits with the default connection limits and deadlines. */
    public ApiConfig(String host, int port, int metricsPort, long maxBodyBytes, int maxJsonDepth,
                     Duration retryAfter) {
        this(host, port, metricsPort, maxBodyBytes, maxJsonDepth, retryAfter, MAX_CONNECTIONS,
                MAX_CONNECTIONS_PER_CLIENT, Math.max(BODY_MEMORY_BYTES, maxBodyBytes), HEADER_TIMEOUT, BODY_TIMEOUT,
                IDLE_TIMEOUT);
    }

    /**
     * Defaults: 0.0.0.0:8400, metrics on 9400, 1 MiB bodies, depth 64, retry after 1 s;
     * 10,000 connections, 1,000 per client, 64 MiB of bodies in memory; headers within 10 s,
     * a body within 30 s, idle connections closed after 60 s.
     */
    public static ApiConfig defaults() {
        return new ApiConfig("0.0.0.0", 8400, 9400, 1L << 20, 64, Duration.ofSeconds(1));
    }

    /** This configuration with other read deadlines (tests that must see a deadline pass). */
    public ApiConfig withTimeouts(Duration header, Duration body, Duration idle) {
        return new ApiConfig(host, port, metricsPort, maxBodyBytes, maxJsonDepth, retryAfter, maxConnections,
                maxConnectionsPerClient, bodyMemoryBytes, header, body, idle, corsOrigins);
    }

    /** This configuration allowing browser pages from {@code origins} (CORS). */
    public ApiConfig withCorsOrigins(List<String> origins) {
        return new ApiConfig(host, port, metricsPort, maxBodyBytes, maxJsonDepth, retryAfter, maxConnections,
                maxConnectionsPerClient, bodyMemoryBytes, headerTimeout, bodyTimeout, idleTimeout, origins);
    }
}
