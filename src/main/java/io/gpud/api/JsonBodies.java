package io.gpud.api;

import com.fasterxml.jackson.core.JsonFactory;
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
 * {@code maxBodyBytes} is refused before reading (413); the bytes held are reserved first
 * from the server's {@link BodyBudget} (a declared length at once, a chunked body in steps
 * of {@value #STEP_BYTES} bytes as it grows), and a body that does not fit is refused with
 * 503 and {@code Retry-After}; the read runs under the body deadline of the
 * {@link ConnectionGuard}. The bytes must be valid UTF-8, and the JSON may nest at most
 * {@code maxJsonDepth} deep. Every refusal is an {@link ApiException} (413, 400 or 503); a
 * client that stops sending (end of stream, reset, deadline) ends its connection with
 * {@link CloseConnectionException}, with no answer and one throttled log line.
 */
final class JsonBodies {

    /** The step in which a body of unknown length reserves memory. */
    static final int STEP_BYTES = 64 << 10;

    private final ObjectMapper reader;
    private final long maxBodyBytes;
    private final BodyBudget budget;
    private final ConnectionGuard guard;
    private final RefusalLog refusals;
    private final Duration retryAfter;

    /** A body's bytes and the JSON object they hold. */
    record Body(byte[] bytes, ObjectNode object) {
    }

    JsonBodies(long maxBodyBytes, int maxJsonDepth, BodyBudget budget, ConnectionGuard guard, RefusalLog refusals,
               Duration retryAfter) {
        var factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(maxJsonDepth).build())
                .build();
        this.reader = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        this.maxBodyBytes = maxBodyBytes;
        this.budget = budget;
        this.guard = guard;
        this.refusals = refusals;
        this.retryAfter = retryAfter;
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
        var held = new Reservation();
        try {
            held.grow(declared.isPresent() ? declared.getAsLong() + 1 : Math.min(STEP_BYTES, maxBodyBytes + 1));
            byte[] body = guard.readingBody(() -> readAll(request, held));
            if (body.length > maxBodyBytes) {
                throw ApiException.tooLarge("the request body", maxBodyBytes);
            }
            return new Body(body, parseObject(body));
        } finally {
            budget.release(held.bytes);
        }
    }

    /** Bytes of the budget this body holds. */
    private final class Reservation {
        long bytes;

        void grow(long more) {
            if (!budget.tryReserve(more)) {
                refusals.refused("body memory", "the request bodies being read hold " + budget.heldBytes()
                        + " of " + budget.capacityBytes() + " bytes (api.bodyMemoryBytes); answered 503");
                throw ApiException.unavailable("this node is reading as many request bodies as its memory for "
                        + "them allows (" + budget.capacityBytes() + " bytes); retry", retryAfter);
            }
            bytes += more;
        }
    }

    /** Reads the whole body, growing the buffer (and the reservation) until it ends or passes the cap. */
    private byte[] readAll(ServerRequest request, Reservation held) {
        try (InputStream in = request.content().inputStream()) {
            byte[] buffer = new byte[(int) held.bytes];
            int length = 0;
            while (true) {
                if (length == buffer.length) {
                    if (length > maxBodyBytes) {
                        break;
                    }
                    int more = (int) Math.min(STEP_BYTES, maxBodyBytes + 1 - length);
                    held.grow(more);
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

    ObjectNode parseObject(byte[] body) {
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
            node = reader.readTree(text);
        } catch (StreamConstraintsException e) {
            throw ApiException.malformed(constraintMessage(e.getOriginalMessage()), e);
        } catch (JsonProcessingException e) {
            throw ApiException.malformed("the request body is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (node == null || node.isMissingNode()) {
            throw ApiException.malformed("the request body is empty; a JSON object is expected", null);
        }
        if (!(node instanceof ObjectNode object)) {
            throw ApiException.malformed("the request body must be a JSON object, got " + node.getNodeType(), null);
        }
        return object;
    }

    /** Which parser limit the body passed, in the words of the limit. */
    private static String constraintMessage(String parserMessage) {
        String lower = parserMessage.toLowerCase(Locale.ROOT);
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
