package io.gpud.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.RequestException;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * Reads request bodies with bounded cost. A declared {@code Content-Length} above
 * {@code maxBodyBytes} is refused before reading (413). Every byte a body costs is reserved
 * first from the server's {@link BodyBudget}: while it is read, its bytes in steps of
 * {@value #STEP_BYTES} as they arrive (a declared length alone reserves no more than one
 * step); once read, what parsing it costs — its text, and {@value #TREE_BYTES_PER_TOKEN}
 * bytes for each of its JSON tokens (values, names, brackets), counted by a scan that builds
 * nothing — before the tree is built. A body that does not fit the budget is refused with
 * 503, one that does not fit its client's share with 429, both with {@code Retry-After}. The
 * reservation is held until the request is answered ({@link #requestDone()}): the parsed tree
 * lives as long as its handler. The read runs under the body deadline of the
 * {@link ConnectionGuard}. The bytes must be valid UTF-8; the JSON may nest at most
 * {@code maxJsonDepth} deep and hold at most {@code maxBodyBytes / 8} tokens (a 1 MiB body of
 * empty objects would otherwise parse to some thirty times its size). Every refusal is an
 * {@link ApiException} (413, 400, 429 or 503); a client that stops sending (end of stream,
 * reset, deadline) ends its connection with {@link CloseConnectionException}, with no answer
 * and one throttled log line.
 */
final class JsonBodies {

    /** The step in which a body reserves memory as its bytes arrive. */
    static final int STEP_BYTES = 64 << 10;
    /**
     * Heap one JSON token costs in the parsed tree, at most, besides its characters: an empty
     * object in an array (two tokens) takes about 92 bytes, a one-character string about 48.
     */
    static final int TREE_BYTES_PER_TOKEN = 64;
    /** Tokens a body may hold however small {@code maxBodyBytes} is (each token takes a byte at least). */
    private static final long MIN_TOKENS = 1_024;

    private final ObjectMapper reader;
    private final long maxBodyBytes;
    private final long maxTokens;
    private final BodyBudget budget;
    private final ConnectionGuard guard;
    private final RefusalLog refusals;
    private final Duration retryAfter;
    /** What the request on this thread holds of the budget, until it is answered. */
    private final ThreadLocal<Reservation> held = new ThreadLocal<>();

    /** A body's bytes and the JSON object they hold. */
    record Body(byte[] bytes, ObjectNode object) {
    }

    JsonBodies(long maxBodyBytes, int maxJsonDepth, BodyBudget budget, ConnectionGuard guard, RefusalLog refusals,
               Duration retryAfter) {
        this.maxTokens = maxTokens(maxBodyBytes);
        var factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(maxJsonDepth)
                        .maxTokenCount(maxTokens).build())
                .build();
        this.reader = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        this.maxBodyBytes = maxBodyBytes;
        this.budget = budget;
        this.guard = guard;
        this.refusals = refusals;
        this.retryAfter = retryAfter;
    }

    /** The most JSON tokens a body of at most {@code maxBodyBytes} may hold. */
    static long maxTokens(long maxBodyBytes) {
        return Math.min(maxBodyBytes, Math.max(MIN_TOKENS, maxBodyBytes / 8));
    }

    /**
     * The most one body can hold of the budget: its bytes while read, then its text (two bytes
     * a character at worst), its parsed strings and its tokens. The budget, and each client's
     * share of it, is at least this, so the largest body allowed can always be served.
     */
    static long mostOneBodyHolds(long maxBodyBytes) {
        return maxBodyBytes + 1 + 4 * maxBodyBytes + maxTokens(maxBodyBytes) * TREE_BYTES_PER_TOKEN;
    }

    /** The body as a JSON object, or an {@link ApiException} saying why not. */
    ObjectNode readObject(ServerRequest request) {
        return read(request).object();
    }

    /** The body's bytes, at most {@code maxBodyBytes} (413 beyond), and the object they hold. */
    Body read(ServerRequest request) {
        OptionalLong declared = request.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > maxBodyBytes) {
            throw ApiException.tooLarge("the request body of " + declared.getAsLong() + " bytes", maxBodyBytes);
        }
        if (!request.content().hasEntity()) {
            throw ApiException.malformed("the request has no body; a JSON object is expected", null);
        }
        Reservation reservation = reservationOf(ConnectionGuard.clientOf(request));
        long limit = declared.isPresent() ? declared.getAsLong() + 1 : maxBodyBytes + 1;
        long before = reservation.bytes;
        try {
            reservation.grow(Math.min(STEP_BYTES, limit));
            byte[] body = guard.readingBody(() -> readAll(request, reservation, limit, before));
            if (body.length > maxBodyBytes) {
                throw ApiException.tooLarge("the request body", maxBodyBytes);
            }
            return new Body(body, parseObject(body));
        } catch (RuntimeException e) {
            reservation.shrink(reservation.bytes - before);
            throw e;
        }
    }

    /**
     * The request on this thread is answered: what its bodies held of the budget is given
     * back. Runs after every request, read or not.
     */
    void requestDone() {
        Reservation r = held.get();
        if (r != null) {
            held.remove();
            r.shrink(r.bytes);
        }
    }

    /** The request on this thread's reservation, made on its first body. */
    private Reservation reservationOf(InetAddress client) {
        Reservation r = held.get();
        if (r == null) {
            r = new Reservation(client);
            held.set(r);
        }
        return r;
    }

    /** Bytes of the budget the request on this thread holds. */
    private final class Reservation {
        private final InetAddress client;
        long bytes;

        Reservation(InetAddress client) {
            this.client = client;
        }

        void grow(long more) {
            var refusal = budget.tryReserve(client, more);
            if (refusal == BodyBudget.Refusal.NODE_FULL) {
                refusals.refused("body memory", "the request bodies being read and parsed hold "
                        + budget.heldBytes() + " of " + budget.capacityBytes() + " bytes (api.bodyMemoryBytes); "
                        + "answered 503");
                throw ApiException.unavailable("this node is reading as many request bodies as its memory for "
                        + "them allows (" + budget.capacityBytes() + " bytes); retry", retryAfter);
            }
            if (refusal == BodyBudget.Refusal.CLIENT_FULL) {
                refusals.refused("body memory per client", client + " holds " + budget.heldBy(client) + " of its "
                        + budget.perClientBytes() + " bytes of request bodies; answered 429");
                throw ApiException.overloaded("this client's request bodies being read and parsed hold its share "
                        + "of this node's memory for them (" + budget.perClientBytes() + " bytes)", retryAfter);
            }
            bytes += more;
        }

        void shrink(long less) {
            budget.release(client, less);
            bytes -= less;
        }
    }

    /**
     * Reads the whole body, growing the buffer (and the reservation, which held {@code before}
     * when this body began) as bytes arrive, until it ends or reaches {@code limit} bytes (its
     * declared length and one, or the cap and one).
     */
    private byte[] readAll(ServerRequest request, Reservation reservation, long limit, long before) {
        try (InputStream in = request.content().inputStream()) {
            byte[] buffer = new byte[(int) (reservation.bytes - before)];
            int length = 0;
            while (true) {
                if (length == buffer.length) {
                    if (length >= limit) {
                        break;
                    }
                    int more = (int) Math.min(STEP_BYTES, limit - length);
                    reservation.grow(more);
                    buffer = Arrays.copyOf(buffer, length + more);
                }
                int n = in.read(buffer, length, buffer.length - length);
                if (n < 0) {
                    break;
                }
                length += n;
            }
            return length == buffer.length ? buffer : Arrays.copyOf(buffer, length);
        } catch (ApiException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException badSize) {
                // Helidon's chunk reader parses the size line with Long.parseLong
                throw ApiException.transport(400, "the request body's chunked framing is malformed: "
                        + badSize.getMessage());
            }
            RequestException refused = framingRefusal(e);
            if (refused != null) {
                // Helidon refused the framing while reading it: a chunk size that is not one,
                // a chunked body over the payload limit
                if (refused.status().code() == 413) {
                    throw ApiException.tooLarge("the request body", maxBodyBytes);
                }
                throw ApiException.transport(refused.status().code() < 500 ? refused.status().code() : 400,
                        "the request body's framing is malformed: " + refused.getMessage());
            }
            String why = guard.cutByDeadline() ? "did not arrive within the body deadline (api.bodyTimeout)"
                    : "ended before its length was reached (" + e.getClass().getSimpleName() + ")";
            refusals.refused("aborted body", "a request body " + why + "; the connection is closed");
            throw new CloseConnectionException("the request body " + why, e);
        }
    }

    /** The HTTP layer's refusal of the body's framing in {@code e}'s causes, or null. */
    private static RequestException framingRefusal(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RequestException r) {
                return r;
            }
        }
        return null;
    }

    /**
     * {@code body} (a request's, or the plaintext of a secure envelope) as a JSON object. Its
     * text and tree are reserved, for the request on this thread, before they are built.
     */
    ObjectNode parseObject(byte[] body) {
        Reservation reservation = reservationOf(null);
        long textBytes = 2L * body.length;
        reservation.grow(textBytes);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body))
                    .toString();
        } catch (CharacterCodingException e) {
            throw ApiException.malformed("the request body is not valid UTF-8", e);
        }
        JsonNode node;
        try {
            // the tree's strings (at most the text again) and its tokens
            reservation.grow(textBytes + tokensIn(text) * TREE_BYTES_PER_TOKEN);
            node = reader.readTree(text);
        } catch (StreamConstraintsException e) {
            throw ApiException.malformed(constraintMessage(e.getOriginalMessage()), e);
        } catch (JsonProcessingException e) {
            throw ApiException.malformed("the request body is not valid JSON: " + e.getOriginalMessage(), e);
        }
        reservation.shrink(textBytes); // the text is garbage now; the tree stays with its request
        if (node == null || node.isMissingNode()) {
            throw ApiException.malformed("the request body is empty; a JSON object is expected", null);
        }
        if (!(node instanceof ObjectNode object)) {
            throw ApiException.malformed("the request body must be a JSON object, got " + node.getNodeType(), null);
        }
        return object;
    }

    /** The JSON tokens in {@code text}, counted without building anything (the parser's limits apply). */
    private long tokensIn(String text) throws JsonProcessingException {
        try (JsonParser scan = reader.getFactory().createParser(text)) {
            while (scan.nextToken() != null) {
                // counting
            }
            return scan.currentTokenCount();
        } catch (JsonProcessingException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Which parser limit the body passed, in the words of the limit. */
    private static String constraintMessage(String parserMessage) {
        String lower = parserMessage.toLowerCase(Locale.ROOT);
        if (lower.contains("token count")) {
            return "the JSON body holds more values, names and brackets than the parser allows: " + parserMessage;
        }
        if (lower.contains("nesting depth")) {
            return "the JSON body is too deeply nested: " + parserMessage;
        }
        if (lower.contains("number")) {
            return "the JSON body holds a number too long to be one: " + parserMessage;
        }
        if (lower.contains("string")) {
            return "the JSON body holds a string longer than the parser allows: " + parserMessage;
        }
        return "the JSON body exceeds a parser limit: " + parserMessage;
    }
}
