package io.gpud.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.NodeState;
import io.gpud.routing.PeerForwarder;
import io.gpud.routing.PrefixNamesHeader;
import io.gpud.routing.RequestSource;
import io.gpud.routing.RouteDecision;
import io.gpud.routing.RouteExplanation;
import io.gpud.routing.Router;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.ProxyProtocolV2Data;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.OutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The one routing decision point of the data plane: wraps the generation routes so that a
 * request is served here or forwarded to the peer the {@link Router} picks, before the
 * engine is called.
 *
 * <p>A request a peer forwarded is served here whatever the router would say, and never
 * reaches this class: it came through the peer listener (mutual TLS), or, in a cluster
 * without peer TLS, it carries {@link PeerForwarder#HOP_HEADER} on the data port. With peer
 * TLS a client's {@link PeerForwarder#HOP_HEADER} on the data port is ignored: the request is
 * routed like any other, and the header is not passed on. Otherwise the body,
 * read and parsed once by the API, goes on as it came, and its {@code model} decides. When
 * no peer could take a forwarded request
 * before anything reached the client, this node serves it itself if it takes work, and
 * answers 503 naming every peer tried if it does not (draining).
 *
 * <p>With the request header {@link #EXPLAIN_HEADER}{@code : 1} the response carries
 * {@link #DECISION_HEADER}: the outcome and the best few candidates with their sub-scores.
 *
 * <p>When the router weighs cache affinity ({@code routing.weightCache} above 0), the
 * request's prompt is read and tokenized here as the route's handler will read it (its
 * {@link Preview}) on this node's engine for the model, and named block by block
 * ({@link Generations#prefixNames}); the router looks for those names in the hosts' caches,
 * and a forward carries them ({@link PrefixNamesHeader}). A body that does not parse, or a
 * model this node does not serve, gives no names: the cache term is 0 for every host and
 * the request goes on as before.
 */
final class PeerRouting {

    /** Request header asking for the routing decision in the response. */
    static final String EXPLAIN_HEADER = "x-gpud-route-explain";
    /** Response header with the routing decision, when asked for. */
    static final String DECISION_HEADER = "x-gpud-route";
    /** PROXY protocol v2 TLV type AWS uses for the VPC endpoint id (PP2_TYPE_AWS). */
    private static final int PP2_TYPE_AWS = 0xEA;
    private static final int PP2_SUBTYPE_AWS_VPCE_ID = 0x01;
    private static final int MAX_DECISION_HEADER = 2048;

    private static final Logger LOG = LoggerFactory.getLogger(PeerRouting.class);

    /**
     * The generation a route's body asks for, read exactly as the route's handler reads it;
     * null when it asks for none. Throws what the handler would answer for a bad body.
     */
    @FunctionalInterface
    interface Preview {
        Generations.Params params(ObjectNode body);

        /** A route that generates nothing (embeddings). */
        Preview NONE = body -> null;
    }

    private static final long[] NO_NAMES = new long[0];

    private final Router router;
    private final PeerForwarder forwarder;
    private final Generations generations;
    private final Duration retryAfter;

    PeerRouting(Router router, PeerForwarder forwarder, Generations generations, Duration retryAfter) {
        this.router = router;
        this.forwarder = forwarder;
        this.generations = generations;
        this.retryAfter = retryAfter;
    }

    /**
     * Where a routed request went.
     *
     * @param forwarded   a peer served it (and it is answered)
     * @param prefixNames when served here: the prompt's block names this node computed for the
     *                    decision, for the engine's claim, or null when none were computed
     */
    record Outcome(boolean forwarded, long[] prefixNames) {
        private static final Outcome FORWARDED = new Outcome(true, null);

        static Outcome local(long[] names) {
            return new Outcome(false, names.length == 0 ? null : names);
        }
    }

    /**
     * Decides where the request goes and forwards it when a peer should serve it.
     *
     * @param body   the request's bytes, sent on as they came
     * @param json   the same, parsed
     * @param state  this node's state, read once for the request
     * @param preview how the route's handler reads the body, for the prompt's block names
     * @return forwarded (and answered), or served here with the block names computed for the
     *         decision, so the engine does not hash the prompt again
     * @throws ApiException 503 when no peer took it and this node takes no work
     */
    Outcome route(ServerRequest req, ServerResponse res, byte[] body, ObjectNode json, NodeState state,
                  Preview preview) throws Exception {
        JsonNode model = json.get("model");
        if (model == null || !model.isTextual()) {
            return Outcome.local(NO_NAMES);
        }
        boolean explain = req.headers().first(HeaderNames.create(EXPLAIN_HEADER)).map(v -> !v.equals("0"))
                .orElse(false);
        long[] names = prefixNames(json, preview);
        RouteDecision decision = router.decide(model.textValue(), source(req), names, explain);
        if (explain) {
            res.header(DECISION_HEADER, summary(decision.explanation()));
        }
        return switch (decision) {
            case RouteDecision.Local l -> Outcome.local(names);
            case RouteDecision.NoCandidate n -> Outcome.local(names);
            case RouteDecision.Forward f -> forward(f, req, res, body, names, state) ? Outcome.FORWARDED
                    : Outcome.local(names);
        };
    }

    /**
     * The names of the whole KV blocks of the prompt the body asks for, as this node's engine
     * for the model would name them; empty when the cache term is off, the body asks for no
     * generation or does not parse (its handler, here or at a peer, will say why), or this
     * node does not serve the model.
     */
    long[] prefixNames(ObjectNode json, Preview preview) {
        if (router.config().weightCache() == 0) {
            return NO_NAMES;
        }
        try {
            Generations.Params params = preview.params(json);
            return params == null ? NO_NAMES : generations.prefixNames(params);
        } catch (RuntimeException refused) {
            LOG.debug("no prefix names for routing: {}", refused.getMessage());
            return NO_NAMES;
        }
    }

    private boolean forward(RouteDecision.Forward f, ServerRequest req, ServerResponse res, byte[] body,
                            long[] names, NodeState state) throws Exception {
        var headers = new HashMap<String, String>();
        req.headers().forEach(h -> headers.putIfAbsent(h.name().toLowerCase(Locale.ROOT), h.get()));
        String unforwardable = PeerForwarder.unforwardableHeader(headers);
        if (unforwardable != null) {
            throw ApiException.transport(400, "the request's " + unforwardable + " header holds characters an HTTP "
                    + "header cannot carry");
        }
        String query = req.query().rawValue();
        String path = originForm(req.path().rawPath()) + (query.isEmpty() ? "" : "?" + query);
        var request = new PeerForwarder.Request(req.prologue().method().text(), path, body, headers, names);
        PeerForwarder.Outcome outcome = forwarder.forward(f, request, new PeerForwarder.ResponseSink() {
            @Override
            public OutputStream begin(int status, Map<String, String> passed) {
                res.status(Status.create(status));
                passed.forEach(res::header);
                return res.outputStream();
            }

            @Override
            public void whole(int status, Map<String, String> passed, byte[] answer) {
                res.status(Status.create(status));
                passed.forEach(res::header);
                res.send(answer);
            }
        });
        if (outcome instanceof PeerForwarder.Outcome.Exhausted e) {
            LOG.warn("no peer took the request ({}); {}", String.join("; ", e.tried()),
                    state.acceptsWork() ? "serving it here" : "answering 503");
            if (state.acceptsWork()) {
                return false;
            }
            throw ApiException.unavailable("this node is " + state + " and no peer could take the request: "
                    + String.join("; ", e.tried()), e.retryAfterSeconds() > 0
                    ? Duration.ofSeconds(e.retryAfterSeconds()) : retryAfter);
        }
        return true;
    }

    /** The client's address (the PROXY protocol header's when there is one) and VPC endpoint id. */
    static RequestSource source(ServerRequest req) {
        var proxy = req.proxyProtocolData();
        if (proxy.isPresent()) {
            ProxyProtocolData data = proxy.get();
            InetAddress address = literal(data.sourceAddress());
            String endpoint = null;
            if (data instanceof ProxyProtocolV2Data v2) {
                for (ProxyProtocolV2Data.Tlv tlv : v2.tlvs()) {
                    if (tlv instanceof ProxyProtocolV2Data.Tlv.Unregistered u && u.type() == PP2_TYPE_AWS
                            && u.value().length > 1 && u.value()[0] == PP2_SUBTYPE_AWS_VPCE_ID) {
                        endpoint = new String(u.value(), 1, u.value().length - 1, StandardCharsets.US_ASCII);
                    }
                }
            }
            return new RequestSource(address, endpoint, null);
        }
        if (req.remotePeer().address() instanceof InetSocketAddress a) {
            return RequestSource.of(a.getAddress());
        }
        return RequestSource.unknown();
    }

    private static InetAddress literal(String address) {
        if (address == null || !address.matches("[0-9.]+|[0-9a-fA-F:]+")) {
            return null;
        }
        try {
            return InetAddress.getByName(address);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** One line: the outcome, then the best few candidates and the filtered ones, capped in size. */
    static String summary(RouteExplanation e) {
        var out = new StringBuilder();
        out.append(e.outcome());
        if (e.chosen() != null) {
            out.append(" chosen=").append(e.chosen()).append(" region=").append(e.chosenRegion());
        }
        out.append(String.format(Locale.ROOT, " added_ms=%.1f decision_us=%.1f", e.addedLatencyMs(),
                e.decisionMicros()));
        if (e.tier() != null) {
            out.append(" tier=\"").append(e.tier()).append('"');
        }
        int shown = 0;
        for (RouteExplanation.Line l : e.candidates()) {
            if (out.length() > MAX_DECISION_HEADER - 200 || shown >= 8) {
                out.append("; ...");
                break;
            }
            shown++;
            if (l.filtered() != null) {
                out.append("; ").append(l.node()).append(" filtered (").append(l.filtered()).append(')');
            } else {
                out.append(String.format(Locale.ROOT, "; %s load=%.2f latency=%.2f affinity=%.2f", l.node(), l.load(),
                        l.latency(), l.affinity()));
                if (e.requestBlocks() > 0) {
                    out.append(String.format(Locale.ROOT, " cache=%.2f(%d/%d)", l.cache(), l.cachedBlocks(),
                            e.requestBlocks()));
                }
                out.append(String.format(Locale.ROOT, " score=%.3f%s", l.score(), l.saturated() ? " saturated" : ""));
            }
        }
        return out.toString().replaceAll("[\\r\\n]", " ");
    }

    /**
     * The path of a request target: as it came for the usual origin form ({@code /v1/...});
     * without its scheme and authority for the absolute form ({@code http://host/v1/...}),
     * which a server must accept (RFC 9112, 3.2.2) and a peer is sent as a path.
     */
    static String originForm(String rawPath) {
        if (rawPath.startsWith("/")) {
            return rawPath;
        }
        try {
            String path = new URI(rawPath).getRawPath();
            return path == null || path.isEmpty() ? "/" : path;
        } catch (URISyntaxException e) {
            throw ApiException.transport(400, "the request target is neither a path nor an absolute URI: "
                    + e.getMessage());
        }
    }
}
