package io.gpud.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.gpud.config.ApiConfig;
import io.gpud.core.GpudException;
import io.gpud.core.NodeState;
import io.gpud.enclave.SecureGateway;
import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.metrics.MetricRegistry;
import io.gpud.routing.PeerForwarder;
import io.gpud.routing.Router;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's HTTP servers: the data plane on {@link ApiConfig#port()} (OpenAI
 * {@code /v1/...}, Ollama {@code /api/...}, {@code /health/live}, {@code /health/ready})
 * the secure envelope {@code /v1/secure/...}, and Prometheus {@code /metrics} on {@link ApiConfig#metricsPort()}, two listeners of one
 * Helidon WebServer.
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

    private final ModelCatalog catalog;
    private final NodeControl node;
    private final MetricRegistry registry;
    private final ApiMetrics metrics;
    private final OpenAiHandlers openAi;
    private final OllamaHandlers ollama;
    private final SecureHandlers secure;
    private final PeerRouting routing;
    private final WebServer server;
    private final String listeners;
    private final AtomicInteger active = new AtomicInteger();

    /**
     * Builds both listeners; nothing is bound until {@link #start()}.
     *
     * @param config           ports, body and depth caps, Retry-After
     * @param catalog          the models served
     * @param node             this node's id and state
     * @param registry         where request metrics go; this server registers its families in it
     * @param defaultMaxTokens tokens generated when a request does not say
     */
    public ApiServer(ApiConfig config, ModelCatalog catalog, NodeControl node, MetricRegistry registry,
                     int defaultMaxTokens) {
        this(config, catalog, node, registry, defaultMaxTokens, null);
    }

    /**
     * Builds both listeners, with the secure-envelope routes served through {@code gateway}
     * (null: they answer 404).
     */
    public ApiServer(ApiConfig config, ModelCatalog catalog, NodeControl node, MetricRegistry registry,
                     int defaultMaxTokens, SecureGateway gateway) {
        this(config, catalog, node, registry, defaultMaxTokens, gateway, null, null, false);
    }

    /**
     * Builds both listeners, with the generation routes behind {@code router}'s decision
     * and forwarded through {@code forwarder} (both null: every request is served here).
     *
     * @param proxyProtocol the data port expects a PROXY protocol header on every connection
     */
    public ApiServer(ApiConfig config, ModelCatalog catalog, NodeControl node, MetricRegistry registry,
                     int defaultMaxTokens, SecureGateway gateway, Router router, PeerForwarder forwarder,
                     boolean proxyProtocol) {
        this.catalog = catalog;
        this.node = node;
        this.registry = registry;
        this.metrics = new ApiMetrics(registry, catalog);
        var generations = new Generations(catalog, node, metrics, defaultMaxTokens, config.retryAfter());
        var bodies = new JsonBodies(config.maxBodyBytes(), config.maxJsonDepth());
        this.openAi = new OpenAiHandlers(catalog, generations, bodies, Clock.systemUTC());
        this.ollama = new OllamaHandlers(catalog, generations, bodies, Clock.systemUTC());
        this.secure = new SecureHandlers(gateway, openAi, bodies);
        this.routing = router == null ? null
                : new PeerRouting(router, forwarder, bodies, node, config.retryAfter());
        this.listeners = config.host() + ":" + config.port() + " (data plane) or " + config.host() + ":"
                + config.metricsPort() + " (metrics)";
        this.server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .enableProxyProtocol(proxyProtocol)
                // Streamed tokens and forwarded answers go out in several writes; without
                // this, Nagle holds each small write until the client's delayed ACK (~40 ms).
                .connectionOptions(o -> o.tcpNoDelay(true))
                .directHandlers(this::directHandlers)
                .routing(this::dataRoutes)
                .putSocket(METRICS_SOCKET, s -> s.host(config.host())
                        .port(config.metricsPort())
                        .directHandlers(this::directHandlers)
                        .routing(this::metricsRoutes))
                .build();
    }

    private void directHandlers(DirectHandlers.Builder handlers) {
        DirectHandler handler = Errors.directHandler(node.nodeId());
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
        server.start();
        if (!server.isRunning() || port() < 0 || metricsPort() < 0) {
            server.stop();
            throw new GpudException("cannot listen on " + listeners + ": the port is taken, the address is not this "
                    + "host's, or binding is not permitted (the server's log line above has the cause)");
        }
        LOG.info("serving the data plane on port {} and metrics on port {}", port(), metricsPort());
        return this;
    }

    /** The bound data-plane port (the actual one when configured as 0). */
    public int port() {
        return server.port();
    }

    /** The bound metrics port (the actual one when configured as 0). */
    public int metricsPort() {
        return server.port(METRICS_SOCKET);
    }

    /**
     * HTTP requests being handled right now, from routing until the last byte is written.
     * A drain waits for this as well as for the engine, so no response is cut short by a
     * stop that follows it.
     */
    public int activeRequests() {
        return active.get();
    }

    /** Stops both listeners. */
    public void stop() {
        server.stop();
    }

    @Override
    public void close() {
        stop();
    }

    private void dataRoutes(HttpRouting.Builder r) {
        r.addFilter((chain, req, res) -> {
            res.header(NODE_HEADER, node.nodeId());
            chain.proceed();
        });
        route(r, Method.GET, "/v1/models", Errors.Dialect.OPENAI, openAi::models);
        route(r, Method.POST, "/v1/completions", Errors.Dialect.OPENAI, routed(openAi::completions));
        route(r, Method.POST, "/v1/chat/completions", Errors.Dialect.OPENAI, routed(openAi::chatCompletions));
        route(r, Method.POST, "/v1/secure/chat/completions", Errors.Dialect.OPENAI, secure::chatCompletions);
        route(r, Method.POST, "/v1/secure/completions", Errors.Dialect.OPENAI, secure::completions);
        route(r, Method.GET, "/api/tags", Errors.Dialect.OLLAMA, ollama::tags);
        route(r, Method.GET, "/api/version", Errors.Dialect.OLLAMA, ollama::version);
        route(r, Method.POST, "/api/generate", Errors.Dialect.OLLAMA, routed(ollama::generate));
        route(r, Method.POST, "/api/chat", Errors.Dialect.OLLAMA, routed(ollama::chat));
        route(r, Method.GET, "/health/live", Errors.Dialect.OPENAI, this::live);
        route(r, Method.GET, "/health/ready", Errors.Dialect.OPENAI, this::ready);
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

    /** A generation route behind the routing decision, when this node routes. */
    private Handler routed(Handler local) {
        return routing == null ? local : routing.routed(local);
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

    /** The one wrapper around every route: metrics under the route pattern, failures to {@code Errors}. */
    private Handler measured(String route, Errors.Dialect dialect, Handler handler) {
        return (req, res) -> {
            long start = Nanos.now();
            active.incrementAndGet();
            try {
                handler.handle(req, res);
            } catch (Exception e) {
                if (res.isSent()) {
                    LOG.warn("{} failed after its response was sent", route, e);
                } else {
                    Errors.send(res, e, dialect);
                }
            } finally {
                active.decrementAndGet();
                metrics.requests.inc(route, Integer.toString(res.status().code()));
                metrics.requestSeconds.observe(Nanos.secondsSince(start), route);
            }
        };
    }

    /** Health answer; {@code reason} says why the node is not ready. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Health(String status, String state, List<String> models, String reason) {
    }

    private void live(ServerRequest req, ServerResponse res) {
        Responses.json(res, 200, new Health("live", node.state().name(), null, null));
    }

    private void ready(ServerRequest req, ServerResponse res) {
        NodeState state = node.state();
        List<String> models = catalog.engines().stream().map(Engine::info).map(i -> i.name()).toList();
        if (state != NodeState.READY) {
            Responses.json(res, 503, new Health("not_ready", state.name(), models,
                    "the node is " + state + ", not READY"));
        } else if (models.isEmpty()) {
            Responses.json(res, 503, new Health("not_ready", state.name(), models, "no model is loaded"));
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
