package io.gpud.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.config.ApiConfig;
import io.gpud.core.GpudException;
import io.gpud.core.NodeState;
import io.gpud.core.Time;
import io.gpud.enclave.SecureGateway;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.metrics.MetricRegistry;
import io.gpud.routing.PeerForwarder;
import io.gpud.routing.PrefixNamesHeader;
import io.gpud.routing.Router;
import io.helidon.common.tls.TlsClientAuth;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ListenerConfig;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.management.UnixOperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * The node's HTTP servers: the data plane on {@link ApiConfig#port()} (OpenAI
 * {@code /v1/...}: models, completions, chat completions, embeddings, responses; Ollama {@code /api/...}, {@code /health/live}, {@code /health/ready})
 * the secure envelope {@code /v1/secure/...}, and Prometheus {@code /metrics} on {@link ApiConfig#metricsPort()}, two listeners of one
 * Helidon WebServer.
 *
 * <p>With peer TLS a third listener, on {@link PeerListener#port()}, takes the requests peers
 * forward: mutual TLS 1.3, a client certificate of the cluster CA required, and every
 * generation request on it is served here (it was routed already). On the data port
 * {@link PeerForwarder#HOP_HEADER} then means nothing: a client that sends it is routed like
 * any other. Without peer TLS (a cluster run with {@code gossip.insecure}) peers forward to
 * the data port, and the header there is what stops a second hop.
 *
 * <p>Every response carries {@code x-gpud-node}. Every route runs inside one wrapper that
 * records {@code gpud_http_requests_total} and {@code gpud_http_request_duration_seconds}
 * under the route's pattern and sends any failure through {@code Errors}, the one place
 * where failures become statuses. Handlers run on virtual threads; generation events reach
 * them through a queue, so only the request's own thread writes to its socket.
 */
public final class ApiServer implements AutoCloseable {

    /** Response header naming the node that answered. */
    public static final String NODE_HEADER = "x-gpud-node";

    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private static final String METRICS_SOCKET = "metrics";
    private static final String PEER_SOCKET = "peers";
    /** Connections the metrics listener serves at once: scrapers, not clients. */
    private static final int METRICS_CONNECTIONS = 32;
    /** Connections the peer listener serves at once, at most: each peer pools a few. */
    private static final int PEER_CONNECTIONS = 256;
    /** Descriptors set aside beyond those open at start: files, gossip, metrics, admin, forwards' pools. */
    private static final long FD_HEADROOM = 192;
    /** Fewer connections than this is not a server: refuse to start instead. */
    private static final int MIN_CONNECTIONS = 16;
    /** One client address may hold this fraction (1/n) of the body budget. */
    private static final int CLIENT_SHARE_OF_BODY_MEMORY = 4;
    private static final Duration REFUSAL_LOG_INTERVAL = Duration.ofSeconds(10);
    /** How often the data port is checked to still accept connections. */
    private static final Duration PROBE_EVERY = Duration.ofSeconds(1);

    private final ApiConfig config;
    private final Time time;
    private final ModelCatalog catalog;
    private final NodeView node;
    private final MetricRegistry registry;
    private final ApiMetrics metrics;
    private final JsonBodies bodies;
    private final Generations generations;
    private final OpenAiHandlers openAi;
    private final OpenAiResponses openAiResponses;
    private final OllamaHandlers ollama;
    private final OllamaModels ollamaModels;
    private final Cors cors;
    private final SecureHandlers secure;
    private final Optional<PeerRouting> routing;
    /** Peers forward to the data port, whose hop header is then trusted (no peer TLS). */
    private final boolean hopHeaderOnDataPort;
    private final Optional<PeerListener> peerListener;
    private final WebServer server;
    private final String listeners;
    private final AtomicInteger active = new AtomicInteger();
    private final RefusalLog refusals;
    private final ConnectionGuard guard;
    private final BodyBudget budget;
    private final Caps caps;
    private final CompletableFuture<String> listenerLost = new CompletableFuture<>();
    private final ScheduledExecutorService probe = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("gpud-http-listener-probe").factory());
    private volatile boolean stopping;

    /**
     * What the API serves through.
     *
     * @param config           ports, body and depth caps, Retry-After
     * @param node             this node's id and state
     * @param catalog          the models served
     * @param registry         where request metrics go; the server registers its families in it
     * @param defaultMaxTokens tokens generated when a request does not say
     * @param secure           the secure envelope's gateway; empty: its routes answer 404
     * @param routing          the router and forwarder the generation routes go through;
     *                         empty: every request is served here
     * @param proxyProtocol    the data port expects a PROXY protocol header on every connection
     * @param time             the node's clock: request latencies, response timestamps
     */
    public record Dependencies(ApiConfig config, NodeView node, ModelCatalog catalog, MetricRegistry registry,
                               int defaultMaxTokens, Optional<SecureGateway> secure, Optional<Routing> routing,
                               boolean proxyProtocol, Time time) {

        /** A node that serves every request itself, with no secure envelope. */
        public static Dependencies local(ApiConfig config, NodeView node, ModelCatalog catalog,
                                         MetricRegistry registry, int defaultMaxTokens) {
            return new Dependencies(config, node, catalog, registry, defaultMaxTokens, Optional.empty(),
                    Optional.empty(), false, Time.system());
        }
    }

    /**
     * The routing decision and the forwarding of requests to peers.
     *
     * @param peers the listener peers forward to (mutual TLS); empty: they forward to the data
     *              port, and its hop header is trusted
     */
    public record Routing(Router router, PeerForwarder forwarder, Optional<PeerListener> peers) {
    }

    /**
     * The peer listener: mutual TLS with the cluster's certificates.
     *
     * @param port       its port (0 picks a free one)
     * @param context    the cluster's TLS context
     * @param parameters the server's parameters: TLS 1.3, a client certificate required
     */
    public record PeerListener(int port, SSLContext context, SSLParameters parameters) {
    }

    /** Builds both listeners; nothing is bound until {@link #start()}. */
    public ApiServer(Dependencies d) {
        this.config = d.config();
        this.time = d.time();
        this.catalog = d.catalog();
        this.node = d.node();
        this.registry = d.registry();
        this.metrics = new ApiMetrics(registry, catalog);
        this.refusals = new RefusalLog(time, REFUSAL_LOG_INTERVAL);
        this.caps = connectionCaps(config.maxConnections(), d.routing().flatMap(Routing::peers).isPresent());
        this.budget = bodyBudget(config);
        this.guard = new ConnectionGuard(config, time, refusals, () -> ConnectionGuard.closingResponse(
                429, "Too Many Requests", Map.of(HeaderNames.RETRY_AFTER.defaultCase(),
                        Long.toString(Errors.retryAfterSeconds(config.retryAfter())), NODE_HEADER, node.nodeId()),
                Responses.bytes(Errors.body(ApiException.overloaded("this client holds "
                        + config.maxConnectionsPerClient() + " connections (api.maxConnectionsPerClient)",
                        config.retryAfter()), Errors.Dialect.OPENAI))));
        this.bodies = new JsonBodies(config.maxBodyBytes(), config.maxJsonDepth(), budget, guard, refusals,
                config.retryAfter());
        LOG.info("data plane limits: {} connections ({} per client, {} on the peer listener), {} bytes of request bodies in memory ({} per "
                        + "client), headers within {}, bodies within {}, idle connections closed after {}",
                caps.data(), config.maxConnectionsPerClient(), caps.peers(), budget.capacityBytes(), budget.perClientBytes(),
                config.headerTimeout(), config.bodyTimeout(), config.idleTimeout());
        this.generations = new Generations(catalog, metrics, d.defaultMaxTokens(), config.retryAfter(), time);
        var embeddings = new Embeddings(generations, metrics, config.retryAfter(), time);
        this.openAi = new OpenAiHandlers(catalog, generations, embeddings, time);
        this.openAiResponses = new OpenAiResponses(generations, time);
        this.ollamaModels = new OllamaModels(catalog, generations, time);
        this.ollama = new OllamaHandlers(catalog, generations, embeddings, ollamaModels, time);
        this.cors = new Cors(config.corsOrigins());
        this.secure = new SecureHandlers(d.secure(), node, time, generations, openAi, bodies);
        this.routing = d.routing().map(r -> new PeerRouting(r.router(), r.forwarder(), generations,
                config.retryAfter()));
        this.peerListener = d.routing().flatMap(Routing::peers);
        this.hopHeaderOnDataPort = d.routing().isPresent() && peerListener.isEmpty();
        this.listeners = config.host() + ":" + config.port() + " (data plane)"
                + peerListener.map(p -> ", " + config.host() + ":" + p.port() + " (peers)").orElse("") + " or "
                + config.host() + ":" + config.metricsPort() + " (metrics)";
        var builder = guarded(WebServer.builder(), caps.data())
                .host(config.host())
                .port(config.port())
                .enableProxyProtocol(d.proxyProtocol())
                .routing(this::dataRoutes)
                .putSocket(METRICS_SOCKET, s -> guarded(s, METRICS_CONNECTIONS)
                        .host(config.host())
                        .port(config.metricsPort())
                        .routing(this::metricsRoutes));
        // Forwards from peers: the data plane's limits (a front node's forwards count toward
        // api.maxConnectionsPerClient) with a cap of its own, over mutual TLS. The handshake is
        // read through the connection's first reads (Helidon's NIO sockets, the default), so
        // api.headerTimeout bounds it too.
        peerListener.ifPresent(p -> builder.putSocket(PEER_SOCKET, s -> guarded(s, caps.peers())
                .host(config.host())
                .port(p.port())
                .tls(t -> t.sslContext(p.context()).sslParameters(p.parameters())
                        .clientAuth(TlsClientAuth.REQUIRED).enabledProtocols(List.of(p.parameters().getProtocols())))
                .routing(this::peerRoutes)));
        this.server = builder.build();
    }

    /**
     * The limits every listener of this server gets: the connection cap, the body cap
     * enforced by Helidon itself (a declared length over it is refused with 413 before
     * routing, and the connection closed), the {@link ConnectionGuard} as the only
     * connection selector (read deadlines, per-client cap), and the error responses.
     */
    private <B extends ListenerConfig.BuilderBase<B, ?>> B guarded(B listener, int connections) {
        return listener
                .maxTcpConnections(connections)
                .maxPayloadSize(config.maxBodyBytes())
                .protocolsDiscoverServices(false)
                .addConnectionSelector(guard)
                // Streamed tokens and forwarded answers go out in several writes; without
                // this, Nagle holds each small write until the client's delayed ACK (~40 ms).
                .connectionOptions(o -> o.tcpNoDelay(true))
                .directHandlers(this::directHandlers);
    }

    /** The connection caps: the data listener's and the peer listener's (0 without one). */
    record Caps(int data, int peers) {
    }

    /**
     * The listeners' connection caps, lowered to fit the process's descriptor limit. The
     * descriptors open now and {@value #FD_HEADROOM} more (files, gossip, the metrics
     * listener, the admin socket) are set aside. Of the rest, the peer listener (when there
     * is one) may use a quarter, at most {@value #PEER_CONNECTIONS} and at most
     * {@code configured}. Half of what is left then stays free for this node's own
     * connections to peers (a forwarded request holds one inbound and one outbound), and the
     * data listener serves {@code configured} connections or the other half, whichever is
     * fewer. The JVM has already raised the soft limit to the hard one
     * ({@code -XX:+MaxFDLimit}, on by default on Linux); the unit's {@code LimitNOFILE} and
     * the launcher's {@code ulimit -n} set the hard one.
     */
    static Caps connectionCaps(int configured, boolean peerListener) {
        if (!(ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean os)) {
            return new Caps(configured, peerListener ? Math.min(PEER_CONNECTIONS, configured) : 0);
        }
        return connectionCaps(configured, peerListener, os.getMaxFileDescriptorCount(),
                os.getOpenFileDescriptorCount());
    }

    /** {@link #connectionCaps(int, boolean)} for a descriptor {@code limit} with {@code open} open. */
    static Caps connectionCaps(int configured, boolean peerListener, long limit, long open) {
        long free = limit - open - FD_HEADROOM;
        int peers = peerListener ? (int) Math.max(0, Math.min(Math.min(PEER_CONNECTIONS, configured), free / 4)) : 0;
        long spare = (free - peers) / 2;
        if (spare < MIN_CONNECTIONS) {
            throw new GpudException("the file-descriptor limit is " + limit + " with " + open + " open: too low to "
                    + "serve even " + MIN_CONNECTIONS + " connections; raise it (LimitNOFILE in the unit, ulimit -n) "
                    + "to at least " + (open + FD_HEADROOM + (peerListener ? 3L : 2L) * MIN_CONNECTIONS));
        }
        if (spare < configured) {
            LOG.warn("the file-descriptor limit is {} ({} open): serving at most {} connections instead of "
                    + "api.maxConnections {}", limit, open, spare, configured);
            return new Caps((int) spare, peers);
        }
        return new Caps(configured, peers);
    }

    /**
     * The body budget: {@code api.bodyMemoryBytes}, at most an eighth of the heap; a client
     * address may hold a quarter of it. Each is at least what the largest body allowed holds
     * while it is read and parsed.
     */
    private static BodyBudget bodyBudget(ApiConfig config) {
        long oneBody = JsonBodies.mostOneBodyHolds(config.maxBodyBytes());
        long total = Math.max(oneBody, Math.min(config.bodyMemoryBytes(), Runtime.getRuntime().maxMemory() / 8));
        return new BodyBudget(total, Math.max(oneBody, total / CLIENT_SHARE_OF_BODY_MEMORY));
    }

    private void directHandlers(DirectHandlers.Builder handlers) {
        DirectHandler handler = Errors.directHandler(node.nodeId(), config.maxBodyBytes(), refusals,
                guard::readingRequestHead);
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            handlers.addHandler(type, handler);
        }
    }

    /**
     * Binds both ports and starts serving.
     *
     * @throws GpudException when either port cannot be bound (the server logs why): a node
     *                       without its data plane must not come up
     */
    public ApiServer start() {
        try {
            ensureBindable(config.port(), "the data plane's");
            ensureBindable(config.metricsPort(), "the metrics");
            if (peerListener.isPresent()) {
                ensureBindable(peerListener.get().port(), "the peer");
            }
            server.start();
            if (!server.isRunning() || port() < 0 || metricsPort() < 0
                    || peerListener.isPresent() && peerPort() < 0) {
                throw new GpudException("cannot listen on " + listeners + ": the port is taken, the address is not "
                        + "this host's, or binding is not permitted (the server's log line above has the cause)");
            }
        } catch (RuntimeException e) {
            stop(); // the deadline watchdog and the probe end with the failed start
            throw e;
        }
        LOG.info("serving the data plane on port {} and metrics on port {}{}", port(), metricsPort(),
                peerListener.isPresent() ? ", forwards from peers on port " + peerPort() + " (mutual TLS)" : "");
        probe.scheduleWithFixedDelay(this::probeDataPort, PROBE_EVERY.toMillis(), PROBE_EVERY.toMillis(),
                TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * Completes, with the reason, when the data port stops accepting connections while the
     * server was not stopped: Helidon ends a listener for good when an accept fails (e.g.
     * "Too many open files") and tells nobody. The node must then leave READY and the
     * process end, for its supervisor to start a fresh one.
     */
    public CompletableFuture<String> listenerLost() {
        return listenerLost;
    }

    /**
     * Connects to the data port: refused twice in a row means the listener is gone. A probe
     * that cannot get a descriptor itself proves nothing and is skipped; one that reaches the
     * backlog of a listener at its connection cap is a live listener.
     */
    private int refusedProbes;

    private void probeDataPort() {
        if (stopping || listenerLost.isDone()) {
            return;
        }
        String host = config.host().equals("0.0.0.0") || config.host().equals("::") ? "127.0.0.1" : config.host();
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port()), (int) PROBE_EVERY.toMillis());
            refusedProbes = 0;
        } catch (ConnectException refused) {
            if (++refusedProbes >= 2 && !stopping) {
                listenerLost.complete("the data port " + host + ":" + port() + " refuses connections: its listener "
                        + "has stopped (see the server's log above for why)");
            }
        } catch (IOException inconclusive) {
            // no descriptor for the probe, or a timeout: says nothing about the listener
        }
    }

    /**
     * Fails the start with the port and the reason when {@code port} cannot be bound (taken,
     * not this host's address, not permitted), before the server tries and logs a stack trace.
     * A port that another process takes between this check and the bind still fails the start.
     */
    private void ensureBindable(int port, String which) {
        if (port == 0) {
            return;
        }
        try (var probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(config.host(), port));
        } catch (IOException e) {
            throw new GpudException("cannot listen on " + listeners + ": " + which + " port " + config.host() + ":"
                    + port + " cannot be bound (" + e.getMessage() + ")", e);
        }
    }

    /** The bound data-plane port (the actual one when configured as 0). */
    public int port() {
        return server.port();
    }

    /** The bound metrics port (the actual one when configured as 0). */
    public int metricsPort() {
        return server.port(METRICS_SOCKET);
    }

    /** The bound peer listener's port; 0 when there is none (no peer TLS). */
    public int peerPort() {
        return peerListener.isPresent() ? server.port(PEER_SOCKET) : 0;
    }

    /**
     * HTTP requests being handled right now, from routing until the last byte is written.
     * A drain waits for this as well as for the engine, so no response is cut short by a
     * stop that follows it.
     */
    public int activeRequests() {
        return active.get();
    }

    /** Bytes of request bodies held now, of the budget all connections share. */
    long bodyBytesHeld() {
        return budget.heldBytes();
    }

    /** Data-plane and metrics connections open now from {@code client}. */
    int connectionsFrom(InetAddress client) {
        return guard.connectionsOf(client);
    }

    /** Stops both listeners. */
    public void stop() {
        stopping = true;
        probe.shutdownNow();
        server.stop();
        guard.close();
    }

    @Override
    public void close() {
        stop();
    }

    private void dataRoutes(HttpRouting.Builder r) {
        r.addFilter((chain, req, res) -> {
            res.header(NODE_HEADER, node.nodeId());
            if (!cors.handle(req, res)) {
                chain.proceed();
            }
        });
        route(r, Method.GET, "/v1/models", Errors.Dialect.OPENAI, openAi::models);
        route(r, Method.GET, "/v1/models/{id}", Errors.Dialect.OPENAI, openAi::model);
        route(r, Method.POST, "/v1/completions", Errors.Dialect.OPENAI,
                generation(openAi::completions, openAi::completionParams));
        route(r, Method.POST, "/v1/chat/completions", Errors.Dialect.OPENAI,
                generation(openAi::chatCompletions, openAi::chatParams));
        route(r, Method.POST, "/v1/embeddings", Errors.Dialect.OPENAI,
                generation((req, res, body, names) -> openAi.embeddings(req, res, body), PeerRouting.Preview.NONE));
        route(r, Method.POST, "/v1/responses", Errors.Dialect.OPENAI,
                generation(openAiResponses::create, openAiResponses::params));
        route(r, Method.POST, "/v1/secure/chat/completions", Errors.Dialect.OPENAI, secure::chatCompletions);
        route(r, Method.POST, "/v1/secure/completions", Errors.Dialect.OPENAI, secure::completions);
        r.route(Method.HEAD, "/", measured("/", Errors.Dialect.OLLAMA, ollamaModels::root));
        route(r, Method.GET, "/", Errors.Dialect.OLLAMA, ollamaModels::root);
        route(r, Method.GET, "/api/tags", Errors.Dialect.OLLAMA, ollamaModels::tags);
        route(r, Method.GET, "/api/version", Errors.Dialect.OLLAMA, ollamaModels::version);
        route(r, Method.GET, "/api/ps", Errors.Dialect.OLLAMA, ollamaModels::ps);
        route(r, Method.POST, "/api/show", Errors.Dialect.OLLAMA,
                (req, res) -> ollamaModels.show(req, res, bodies.readObject(req)));
        route(r, Method.POST, "/api/generate", Errors.Dialect.OLLAMA, generation(ollama::generate, ollama::generateParams));
        route(r, Method.POST, "/api/chat", Errors.Dialect.OLLAMA, generation(ollama::chat, ollama::chatParams));
        route(r, Method.POST, "/api/embed", Errors.Dialect.OLLAMA, local(ollama::embed));
        route(r, Method.POST, "/api/embeddings", Errors.Dialect.OLLAMA, local(ollama::embeddings));
        for (String path : List.of("/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete")) {
            r.any(path, measured(path, Errors.Dialect.OLLAMA, ollamaModels::management));
        }
        route(r, Method.GET, "/health/live", Errors.Dialect.OPENAI, this::live);
        route(r, Method.GET, "/health/ready", Errors.Dialect.OPENAI, this::ready);
        r.any(unmatched());
    }

    /** The peer listener: what peers forward, served here; the TLS handshake authenticated the peer. */
    private void peerRoutes(HttpRouting.Builder r) {
        r.addFilter((chain, req, res) -> {
            res.header(NODE_HEADER, node.nodeId());
            chain.proceed();
        });
        route(r, Method.POST, "/v1/completions", Errors.Dialect.OPENAI, fromPeer(openAi::completions));
        route(r, Method.POST, "/v1/chat/completions", Errors.Dialect.OPENAI, fromPeer(openAi::chatCompletions));
        route(r, Method.POST, "/v1/embeddings", Errors.Dialect.OPENAI, local(openAi::embeddings));
        route(r, Method.POST, "/v1/responses", Errors.Dialect.OPENAI, fromPeer(openAiResponses::create));
        route(r, Method.POST, "/api/generate", Errors.Dialect.OLLAMA, fromPeer(ollama::generate));
        route(r, Method.POST, "/api/chat", Errors.Dialect.OLLAMA, fromPeer(ollama::chat));
        r.any(unmatched());
    }

    private void metricsRoutes(HttpRouting.Builder r) {
        r.addFilter((chain, req, res) -> {
            res.header(NODE_HEADER, node.nodeId());
            chain.proceed();
        });
        route(r, Method.GET, "/metrics", Errors.Dialect.OPENAI, this::scrape);
        r.any(unmatched());
    }

    /** A generation route's handler, given the request body read and parsed once. */
    @FunctionalInterface
    interface BodyHandler {
        void handle(ServerRequest req, ServerResponse res, ObjectNode body) throws Exception;
    }

    /**
     * The names of the whole KV blocks of {@code prompt} as {@code /v1/completions} would run
     * it here (tokenized by this node's engine for {@code model}); empty when this node does
     * not serve the model or its engine keeps no prefix cache. For route explanations.
     */
    public long[] prefixNames(String model, String prompt) {
        return generations.prefixNames(new Generations.Params(model, new Generations.Prompt.Text(prompt), "prompt", 1,
                io.gpud.inference.Sampling.greedy(), List.of()));
    }

    /**
     * A generation route's handler, given the request body read and parsed once, and the
     * prompt's KV block names as the peer that forwarded the request computed them, or as this
     * node computed them to route it here (null when none were computed or came).
     */
    @FunctionalInterface
    interface GenerationHandler {
        void handle(ServerRequest req, ServerResponse res, ObjectNode body, long[] prefixNames) throws Exception;
    }

    /**
     * A generation route on the data port: the node's state is read once for the request; the
     * body is read and parsed once; the router decides, when this node routes (and, without
     * peer TLS, the request was not forwarded to it), with the prompt read as {@code preview}
     * reads it; served here, it needs a node that takes work (else 503).
     */
    private Handler generation(GenerationHandler handler, PeerRouting.Preview preview) {
        Handler fromPeer = fromPeer(handler);
        return (req, res) -> {
            if (routing.isEmpty()) {
                generations.ensureAcceptingWork(node.state());
                handler.handle(req, res, bodies.readObject(req), null);
                return;
            }
            if (hopHeaderOnDataPort && req.headers().contains(HeaderNames.create(PeerForwarder.HOP_HEADER))) {
                fromPeer.handle(req, res);
                return;
            }
            NodeState state = node.state();
            JsonBodies.Body body = bodies.read(req);
            PeerRouting.Outcome outcome = routing.get().route(req, res, body.bytes(), body.object(), state, preview);
            if (!outcome.forwarded()) {
                generations.ensureAcceptingWork(state);
                handler.handle(req, res, body.object(), outcome.prefixNames());
            }
        };
    }

    /**
     * A generation route a peer forwarded to this node, served here: the prompt's block
     * names come from {@link PrefixNamesHeader#NAME} (a malformed value is ignored: the
     * engine names the blocks itself).
     */
    private Handler fromPeer(GenerationHandler handler) {
        return (req, res) -> {
            generations.ensureAcceptingWork(node.state());
            String value = req.headers().first(HeaderNames.create(PrefixNamesHeader.NAME)).orElse(null);
            long[] names = PrefixNamesHeader.decode(value);
            if (value != null && names == null) {
                LOG.debug("ignored a malformed {} header of {} characters", PrefixNamesHeader.NAME, value.length());
            }
            handler.handle(req, res, bodies.readObject(req), names);
        };
    }

    /** A generation route served here, never routed: it needs a node that takes work (else 503). */
    private Handler local(BodyHandler handler) {
        return (req, res) -> {
            generations.ensureAcceptingWork(node.state());
            handler.handle(req, res, bodies.readObject(req));
        };
    }

    /** Registers {@code handler} for {@code method}, and a 405 for any other method on the path. */
    private void route(HttpRouting.Builder r, Method method, String path, Errors.Dialect dialect, Handler handler) {
        r.route(method, path, measured(path, dialect, handler));
        r.any(path, measured(path, dialect, (req, res) -> {
            res.header(HeaderNames.ALLOW, method.text());
            throw ApiException.methodNotAllowed(req.prologue().method().text(), path);
        }));
    }

    private Handler unmatched() {
        return (req, res) -> {
            String path = req.path().rawPath();
            var dialect = path.startsWith("/api/") ? Errors.Dialect.OLLAMA : Errors.Dialect.OPENAI;
            measured(ApiMetrics.UNMATCHED, dialect, (rq, rs) -> {
                throw ApiException.routeNotFound(rq.prologue().method().text(), path);
            }).handle(req, res);
        };
    }

    /**
     * The one wrapper around every route: metrics under the route pattern, failures to
     * {@code Errors}. A connection whose request body was not read to its end (refused
     * before reading, cut short, over a limit), or whose client asked to close it, is closed
     * after the response: Helidon would otherwise read on from wherever the body stopped and
     * take the rest of it for the next request.
     */
    private Handler measured(String route, Errors.Dialect dialect, Handler handler) {
        return (req, res) -> {
            long start = time.nanos();
            active.incrementAndGet();
            boolean clientGone = false;
            try {
                handler.handle(req, res);
            } catch (CloseConnectionException e) {
                clientGone = true;
                throw e;
            } catch (Exception e) {
                if (res.isSent()) {
                    LOG.warn("{} failed after its response was sent", route, e);
                } else {
                    if (!req.content().consumed()) {
                        res.header(HeaderValues.CONNECTION_CLOSE);
                    }
                    Errors.send(res, e, dialect);
                }
            } finally {
                active.decrementAndGet();
                bodies.requestDone();
                guard.requestDone();
                if (!clientGone) {
                    metrics.requests.inc(route, Integer.toString(res.status().code()));
                    metrics.requestSeconds.observe((time.nanos() - start) / 1e9, route);
                }
            }
            if (!req.content().consumed() || asksToClose(req)) {
                throw new CloseConnectionException("the request body was not read to its end, or the client asked "
                        + "to close: the connection is closed after the response");
            }
        };
    }

    /**
     * The client asked to close the connection: {@code close} is among the tokens of any of
     * its {@code Connection} headers (a hostile client may send several, or a list).
     */
    private static boolean asksToClose(ServerRequest req) {
        for (String value : req.headers().all(HeaderNames.CONNECTION, List::of)) {
            for (String token : value.split(",")) {
                if (token.strip().equalsIgnoreCase("close")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Health answer; {@code reason} says why the node is not ready. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Health(String status, String state, List<String> models, String reason) {
    }

    private void live(ServerRequest req, ServerResponse res) {
        Responses.json(res, 200, new Health("live", node.state().name(), null, null));
    }

    /**
     * 200 when the node takes work: READY, a model loaded, and, with the secure envelope on,
     * an audit log that records can be written to (else every secure request would be
     * refused; the plain routes still serve, but a balancer should send this node nothing
     * until the log recovers, which it does by itself once a write succeeds).
     */
    private void ready(ServerRequest req, ServerResponse res) {
        NodeState state = node.state();
        List<String> models = catalog.engines().stream().map(Engine::info).map(i -> i.name()).toList();
        Optional<String> secureNotReady = secure.notReady();
        if (state != NodeState.READY) {
            Responses.json(res, 503, new Health("not_ready", state.name(), models,
                    "the node is " + state + ", not READY"));
        } else if (models.isEmpty()) {
            Responses.json(res, 503, new Health("not_ready", state.name(), models, "no model is loaded"));
        } else if (secureNotReady.isPresent()) {
            Responses.json(res, 503, new Health("not_ready", state.name(), models, secureNotReady.get()));
        } else {
            Responses.json(res, 200, new Health("ready", state.name(), models, null));
        }
    }

    private void scrape(ServerRequest req, ServerResponse res) {
        var scrape = registry.scrape(req.headers().first(HeaderNames.ACCEPT).orElse(null));
        res.header(HeaderNames.CONTENT_TYPE, scrape.contentType());
        res.send(scrape.body());
    }
}
