package io.gpud.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The data plane against requests a hostile client writes by hand on a raw socket: a body
 * smuggled behind a refused one, broken chunked framing, a body cut short, stray bytes in
 * the method, HTTP/1.0, and numbers out of every range. Each is a 4xx (or a plain close when
 * the client is gone), never a 500, and nothing after a refused body is read as a request.
 */
class HostileHttpTest extends ApiServerTestBase {

    private String exchange(byte[] request, boolean halfClose) throws IOException {
        return RawHttp.exchange(server.port(), request, halfClose);
    }

    private String exchange(String request) throws IOException {
        return exchange(request.getBytes(StandardCharsets.ISO_8859_1), false);
    }

    private static int statusOf(String response) {
        return RawHttp.statusOf(response);
    }

    private static int responses(String text) {
        return RawHttp.responses(text);
    }

    @Test
    void aRequestSmuggledBehindAnOversizedBodyIsNeverRun() throws Exception {
        String hidden = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
        String body = hidden + "x".repeat(2 * MAX_BODY - hidden.length());
        // The hidden request sits at the start of the body, the padding after it fills the
        // declared length; the server refuses the length and must not read on as requests.
        String request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
        String response = exchange(request);
        assertEquals(413, statusOf(response), response);
        assertEquals(1, responses(response), "a second response means the body ran as a request:\n" + response);
        assertFalse(response.contains("\"object\":\"list\""), response);
        assertStillServes();
    }

    @Test
    void aRequestSmuggledBehindAnOversizedBodyOnAClosingConnectionIsNeverRun() throws Exception {
        String hidden = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
        String body = "x".repeat(2 * MAX_BODY);
        // The client asks to close; the server must not read the unread body, nor anything
        // after it, as further requests.
        String request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Connection: close\r\nContent-Length: " + body.length() + "\r\n\r\n" + hidden + body + hidden;
        String response = exchange(request);
        assertEquals(413, statusOf(response), response);
        assertEquals(1, responses(response), "a second response means the body ran as a request:\n" + response);
        assertFalse(response.contains("\"object\":\"list\""), response);
    }

    @Test
    void aRequestSmuggledAfterABodyRefusedUnreadIsNeverRun() throws Exception {
        String hidden = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
        // Within the cap, but refused (503, not ready) before the body is read.
        node.state(io.gpud.core.NodeState.DRAINING);
        String body = hidden + " ".repeat(100);
        String request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Connection: close\r\nContent-Length: " + body.length() + "\r\n\r\n" + body + hidden;
        String response = exchange(request);
        assertEquals(503, statusOf(response), response);
        assertEquals(1, responses(response), "a second response means the rest ran as a request:\n" + response);
    }

    @Test
    void aHeaderTrickledSlowerThanTheDeadlineIsCutOff() throws Exception {
        server.stop();
        var config = new io.gpud.config.ApiConfig("127.0.0.1", 0, 0, MAX_BODY, MAX_DEPTH,
                java.time.Duration.ofSeconds(2)).withTimeouts(java.time.Duration.ofMillis(1500),
                java.time.Duration.ofMillis(1500), java.time.Duration.ofSeconds(5));
        server = new ApiServer(ApiServer.Dependencies.local(config, node, () -> java.util.List.copyOf(engines),
                new io.gpud.metrics.MetricRegistry(), DEFAULT_MAX_TOKENS)).start();
        long started = System.nanoTime();
        try (var socket = new Socket("127.0.0.1", server.port())) {
            var out = socket.getOutputStream();
            out.write("GET /v1/models HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
            boolean cut = false;
            // One header line every 300 ms, for at most 20 s: the server must cut it near 1.5 s.
            for (int i = 0; i < 66 && !cut; i++) {
                try {
                    out.write(("X-Trickle-" + i + ": y\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    socket.setSoTimeout(300);
                    cut = socket.getInputStream().read() == -1;
                } catch (SocketTimeoutException stillOpen) {
                    // next line
                } catch (IOException reset) {
                    cut = true;
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            assertTrue(cut, "the trickled header was still being read after " + seconds + " s");
            assertTrue(seconds < 6, "cut only after " + seconds + " s");
        }
        assertStillServes();
    }

    @Test
    void aRequestSmuggledBehindAChunkedBodyOverTheCapIsNeverRun() throws Exception {
        String hidden = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
        String chunk = "x".repeat(2 * MAX_BODY);
        String request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(chunk.length()) + "\r\n" + chunk
                + "\r\n0\r\n\r\n" + hidden;
        String response = exchange(request);
        assertEquals(413, statusOf(response), response);
        assertEquals(1, responses(response), "a second response means the rest ran as a request:\n" + response);
    }

    @Test
    void aBadChunkSizeIsABadRequest() throws Exception {
        String response = exchange("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
        assertEquals(400, statusOf(response), response);
        assertEquals(1, responses(response), response);
        assertStillServes();
    }

    @Test
    void aNegativeOrHugeChunkSizeIsABadRequest() throws Exception {
        for (String size : new String[] {"-5", "ffffffffffffffffff", "7fffffff"}) {
            String response = exchange("POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n{}\r\n");
            int status = statusOf(response);
            assertTrue(status == 400 || status == 413, "chunk size " + size + ":\n" + response);
        }
        assertStillServes();
    }

    @Test
    void aBodyShorterThanItsContentLengthThenEndOfStreamIsNeverAServerError() throws Exception {
        String response = exchange(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100\r\n\r\n{\"model\":").getBytes(StandardCharsets.US_ASCII), true);
        int status = statusOf(response);
        assertTrue(status == -1 || (status >= 400 && status < 500), response);
        assertStillServes();
    }

    @Test
    void strayBytesInTheMethodAreABadRequest() throws Exception {
        for (String method : new String[] {"G\u0001ET", "P@ST", "GET\u007f", "\u00ffPOST"}) {
            String response = exchange(method + " /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
            int status = statusOf(response);
            assertTrue(status >= 400 && status < 500, "method " + method.chars().boxed().toList() + ":\n" + response);
        }
        assertStillServes();
    }

    @Test
    void http10IsRefusedWithAClientErrorThatSaysSo() throws Exception {
        String response = exchange("GET /v1/models HTTP/1.0\r\nHost: x\r\n\r\n");
        int status = statusOf(response);
        assertTrue(status >= 400 && status < 500, response);
        assertTrue(response.contains("HTTP/1.1"), response);
    }

    @Test
    void aClientThatAsksToCloseInAnyOfItsConnectionHeadersGetsNoSecondAnswer() throws Exception {
        String hidden = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
        for (String connection : new String[] {"Connection: close\r\nConnection: keep-alive\r\n",
                "Connection: keep-alive\r\nConnection: close\r\n", "Connection: keep-alive, Close\r\n"}) {
            String response = exchange("GET /v1/models HTTP/1.1\r\nHost: x\r\n" + connection + "\r\n" + hidden);
            assertEquals(200, statusOf(response), response);
            assertEquals(1, responses(response), "answered after the client asked to close:\n" + response);
        }
    }

    @Test
    void aTransferCodingTheServerDoesNotImplementIsAClientError() throws Exception {
        String response = exchange("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
        assertEquals(400, statusOf(response), response);
        assertTrue(response.toLowerCase(java.util.Locale.ROOT).contains("transfer"), response);
        assertStillServes();
    }

    @Test
    void anIntegerBeyondAnyDoubleNamesTheBoundAndIsNoServerError() throws Exception {
        for (String value : new String[] {"1e400", "-1e400"}) {
            JsonNode error = assertOpenAiError(post("/v1/completions",
                    "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":" + value + "}"), 400);
            String message = error.get("message").asText();
            assertTrue(message.contains("max_tokens") && message.contains("beyond any double"), message);
        }
    }

    @Test
    void anIntegerWrittenWithAnExponentBeyondTheRangeNamesTheBound() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/completions",
                "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":1e12}"), 400);
        String message = error.get("message").asText();
        assertFalse(message.contains("got number"), message);
        assertTrue(message.contains("max_tokens") && message.contains(Integer.toString(Integer.MAX_VALUE)), message);
    }

    @Test
    void anIntegerBeyondTheRangeNamesTheBound() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/completions",
                "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":100000000000000000000}"), 400);
        String message = error.get("message").asText();
        assertTrue(message.contains(Integer.toString(Integer.MAX_VALUE)), message);
    }

    @Test
    void aVeryLongNumberIsNotCalledNesting() throws Exception {
        JsonNode error = assertOpenAiError(post("/v1/completions",
                "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":" + "9".repeat(2000) + "}"), 400);
        String message = error.get("message").asText();
        assertFalse(message.contains("nested"), message);
        assertTrue(message.contains("number"), message);
    }
}
