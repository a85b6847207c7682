package io.gpud.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

/**
 * Reads request bodies with bounded cost: at most {@code maxBodyBytes + 1} bytes are ever
 * buffered (a declared {@code Content-Length} above the cap is refused before reading),
 * the bytes must be valid UTF-8, and the JSON may nest at most {@code maxJsonDepth} deep.
 * Every refusal is an {@link ApiException} (413 or 400).
 */
final class JsonBodies {

    private final ObjectMapper reader;
    private final long maxBodyBytes;

    JsonBodies(long maxBodyBytes, int maxJsonDepth) {
        var factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(maxJsonDepth).build())
                .build();
        this.reader = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        this.maxBodyBytes = maxBodyBytes;
    }

    /** The body as a JSON object, or an {@link ApiException} saying why not. */
    ObjectNode readObject(ServerRequest request) {
        return parseObject(readBytes(request));
    }

    /** The body's bytes, at most {@code maxBodyBytes} (413 beyond). */
    byte[] readBytes(ServerRequest request) {
        OptionalLong declared = request.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > maxBodyBytes) {
            throw ApiException.tooLarge("the request body of " + declared.getAsLong() + " bytes", maxBodyBytes);
        }
        if (!request.content().hasEntity()) {
            throw ApiException.malformed("the request has no body; a JSON object is expected", null);
        }
        byte[] body;
        try (InputStream in = request.content().inputStream()) {
            body = in.readNBytes((int) maxBodyBytes + 1);
        } catch (IOException | UncheckedIOException e) {
            throw ApiException.malformed("the request body could not be read: " + e.getMessage(), e);
        }
        if (body.length > maxBodyBytes) {
            throw ApiException.tooLarge("the request body", maxBodyBytes);
        }
        return body;
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
            throw ApiException.malformed("the JSON body is too deeply nested: " + e.getOriginalMessage(), e);
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
}
