package io.gpud.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writing responses: whole JSON documents, and streams of SSE events or NDJSON lines.
 * Response records use Java names; they reach the wire in snake_case, as both the OpenAI
 * and the Ollama APIs spell their fields.
 */
final class Responses {

    static final String JSON = "application/json";
    static final String SSE = "text/event-stream";
    static final String NDJSON = "application/x-ndjson";

    static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private Responses() {
    }

    static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw ApiException.internal("could not serialize " + value.getClass().getSimpleName(), e);
        }
    }

    /** Sends {@code value} as a JSON document with the given status. */
    static void json(ServerResponse res, int status, Object value) {
        byte[] body = bytes(value);
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, JSON);
        res.send(body);
    }

    /**
     * A response streamed event by event, each written and flushed at once. Any failure to
     * write means the client is gone and surfaces as an {@link IOException}.
     */
    static final class Stream implements AutoCloseable {
        private final OutputStream out;
        private final boolean sse;

        private Stream(ServerResponse res, String contentType) {
            res.status(200);
            res.header(HeaderNames.CONTENT_TYPE, contentType);
            res.header(HeaderNames.CACHE_CONTROL, "no-cache");
            this.out = res.outputStream();
            this.sse = contentType.equals(SSE);
        }

        /** Server-sent events: {@code data: <json>\n\n}. */
        static Stream sse(ServerResponse res) {
            return new Stream(res, SSE);
        }

        /** Newline-delimited JSON: one document per line. */
        static Stream ndjson(ServerResponse res) {
            return new Stream(res, NDJSON);
        }

        /** Writes one JSON document as an event or a line. */
        void send(Object value) throws IOException {
            write(bytes(value));
        }

        /** Writes one JSON document as a named server-sent event: {@code event: <name>} then its data. */
        void sendEvent(String name, Object value) throws IOException {
            byte[] data = bytes(value);
            try {
                out.write(("event: " + name + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new IOException("writing to the client failed", e);
            }
            write(data);
        }

        /** Writes an event whose data is not JSON ({@code [DONE]}). */
        void sendRaw(String data) throws IOException {
            write(data.getBytes(StandardCharsets.UTF_8));
        }

        private void write(byte[] data) throws IOException {
            try {
                if (sse) {
                    out.write("data: ".getBytes(StandardCharsets.US_ASCII));
                    out.write(data);
                    out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
                } else {
                    out.write(data);
                    out.write('\n');
                }
                out.flush();
            } catch (IOException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new IOException("writing to the client failed", e);
            }
        }

        /** Writes a failure after the stream began, in the stream's framing, if the client still listens. */
        void fail(Throwable failure, Errors.Dialect dialect) {
            try {
                write(bytes(Errors.body(Errors.classify(failure), dialect)));
            } catch (IOException e) {
                // the client is gone as well; nothing more to tell it
            }
        }

        @Override
        public void close() {
            try {
                out.close();
            } catch (IOException | RuntimeException e) {
                // the client went away before the end of the stream
            }
        }
    }
}
