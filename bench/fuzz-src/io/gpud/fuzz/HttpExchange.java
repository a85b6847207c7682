package io.gpud.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Sends one request's bytes on a fresh connection, half-closes it (so a server waiting for
 * more must answer or close now, and silence is a hang), reads until the server closes or
 * the deadline passes, and classifies what came back.
 */
final class HttpExchange {

    /** What one request got. */
    enum Outcome {
        /** 1xx-5xx by the first final response. */
        S2XX, S3XX, S4XX,
        /** 503 with Retry-After: overload, allowed. */
        S503_RETRY,
        /** Any other 5xx: a finding. */
        S5XX,
        /** Closed (or reset) with no byte of answer: allowed for garbage. */
        CLOSED,
        /** No complete answer and no close within the deadline: a finding. */
        HANG,
        /** A response after one that said Connection: close (the server read on): a finding. */
        AFTER_CLOSE,
        /** Bytes that are not an HTTP response: a finding. */
        GARBLED,
        /** The connection was refused: nothing listens on the port any more, a finding. */
        REFUSED;

        boolean finding() {
            return this == S5XX || this == HANG || this == AFTER_CLOSE || this == GARBLED || this == REFUSED;
        }
    }

    /** The outcome, the first status line (or why none), and the answer's bytes. */
    record Result(Outcome outcome, int status, String detail, byte[] answer) {
    }

    /** Answers longer than this stop the read (a metrics scrape or a long stream fits). */
    private static final int MAX_ANSWER = 4 * 1024 * 1024;

    private HttpExchange() {
    }

    static Result send(int port, byte[] request, int timeoutMs) {
        var answer = new ByteArrayOutputStream();
        boolean closed = false;
        Socket s = new Socket();
        try (s) {
            s.connect(new InetSocketAddress("127.0.0.1", port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            // the writer may block on a server that reads nothing; closing the socket frees it
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    s.getOutputStream().write(request);
                    s.shutdownOutput();
                } catch (IOException serverClosedFirst) {
                    // an early answer and close is a normal outcome for a refused request
                }
            });
            closed = readAll(s.getInputStream(), answer, System.nanoTime() + timeoutMs * 1_000_000L);
            writer.join(100);
        } catch (java.net.ConnectException e) {
            return new Result(Outcome.REFUSED, 0, e.getMessage(), new byte[0]);
        } catch (SocketTimeoutException e) {
            return new Result(Outcome.HANG, 0, "connect timed out", new byte[0]);
        } catch (IOException e) {
            if (answer.size() == 0) {
                return new Result(Outcome.CLOSED, 0, e.getClass().getSimpleName(), new byte[0]);
            }
            closed = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return classify(answer.toByteArray(), closed);
    }

    /** True when the server closed; false on the deadline or the size cap. */
    private static boolean readAll(InputStream in, ByteArrayOutputStream out, long deadline) throws IOException {
        byte[] buf = new byte[64 * 1024];
        while (out.size() < MAX_ANSWER) {
            int n;
            try {
                n = in.read(buf);
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException reset) {
                return true;
            }
            if (n < 0) {
                return true;
            }
            out.write(buf, 0, n);
            if (System.nanoTime() > deadline) {
                return false;
            }
        }
        return true;
    }

    /** One parsed response head, and whether its whole body was there. */
    private record Response(int status, String statusLine, boolean close, boolean retryAfter, boolean complete) {
    }

    static Result classify(byte[] a, boolean closed) {
        byte[] head = a;
        if (a.length == 0) {
            return new Result(closed ? Outcome.CLOSED : Outcome.HANG, 0, closed ? "closed" : "no answer", head);
        }
        List<Response> responses = new ArrayList<>();
        int at = 0;
        while (at < a.length) {
            int end = indexOf(a, at, "\r\n\r\n");
            if (end < 0) {
                if (!startsWith(a, at, "HTTP/")) {
                    return new Result(Outcome.GARBLED, 0, "not a response at byte " + at, head);
                }
                responses.add(new Response(0, "(cut head)", false, false, false));
                break;
            }
            String[] lines = new String(a, at, end - at, StandardCharsets.ISO_8859_1).split("\r\n");
            String[] sl = lines[0].split(" ", 3);
            if (!lines[0].startsWith("HTTP/1.") || sl.length < 2 || !sl[1].matches("\\d{3}")) {
                return new Result(Outcome.GARBLED, 0, "status line " + Mutations.escape(lines[0]), head);
            }
            int status = Integer.parseInt(sl[1]);
            long length = -1;
            boolean chunked = false;
            boolean close = false;
            boolean retryAfter = false;
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = lines[i].substring(colon + 1).trim().toLowerCase(Locale.ROOT);
                switch (name) {
                    case "content-length" -> {
                        if (!value.matches("\\d{1,18}")) {
                            return new Result(Outcome.GARBLED, status, "content-length " + value, head);
                        }
                        length = Long.parseLong(value);
                    }
                    case "transfer-encoding" -> chunked = value.contains("chunked");
                    case "connection" -> close = value.contains("close");
                    case "retry-after" -> retryAfter = true;
                    default -> { }
                }
            }
            int body = end + 4;
            int next;
            if (status / 100 == 1 || status == 204 || status == 304) {
                next = body;
            } else if (chunked) {
                next = chunkedEnd(a, body);
            } else if (length >= 0) {
                next = body + length <= a.length ? (int) (body + length) : -1;
            } else {
                next = closed ? a.length : -1;
            }
            responses.add(new Response(status, lines[0], close, retryAfter, next >= 0));
            if (next < 0) {
                break;
            }
            at = next;
        }
        Response first = responses.stream().filter(r -> r.status() >= 200 || r.status() == 0).findFirst()
                .orElse(responses.getLast());
        for (int i = 0; i + 1 < responses.size(); i++) {
            if (responses.get(i).close() && responses.get(i).status() >= 200) {
                return new Result(Outcome.AFTER_CLOSE, first.status(), responses.get(i).statusLine() + " then "
                        + responses.get(i + 1).statusLine(), head);
            }
        }
        for (Response r : responses) {
            if (r.status() >= 500 && !(r.status() == 503 && r.retryAfter())) {
                return new Result(Outcome.S5XX, r.status(), r.statusLine(), head);
            }
        }
        if (!responses.getLast().complete() && !closed) {
            return new Result(Outcome.HANG, first.status(), "cut after " + first.statusLine(), head);
        }
        Outcome o = switch (first.status() / 100) {
            case 2 -> Outcome.S2XX;
            case 3 -> Outcome.S3XX;
            case 4 -> Outcome.S4XX;
            case 5 -> Outcome.S503_RETRY;
            default -> Outcome.CLOSED;
        };
        return new Result(o, first.status(), first.statusLine(), head);
    }

    /** The end of a chunked body starting at {@code at}, or -1 when it is not all there. */
    private static int chunkedEnd(byte[] a, int at) {
        while (true) {
            int eol = indexOf(a, at, "\r\n");
            if (eol < 0) {
                return -1;
            }
            String size = new String(a, at, eol - at, StandardCharsets.ISO_8859_1).split(";")[0].trim();
            long n;
            try {
                n = Long.parseLong(size, 16);
            } catch (NumberFormatException e) {
                return -1;
            }
            if (n == 0) {
                int end = indexOf(a, eol, "\r\n\r\n");
                return end < 0 ? -1 : end + 4;
            }
            long next = eol + 2 + n + 2;
            if (next > a.length) {
                return -1;
            }
            at = (int) next;
        }
    }

    private static int indexOf(byte[] a, int from, String s) {
        byte[] p = s.getBytes(StandardCharsets.ISO_8859_1);
        outer:
        for (int i = Math.max(0, from); i + p.length <= a.length; i++) {
            for (int k = 0; k < p.length; k++) {
                if (a[i + k] != p[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static boolean startsWith(byte[] a, int at, String s) {
        byte[] p = s.getBytes(StandardCharsets.ISO_8859_1);
        int n = Math.min(p.length, a.length - at);
        for (int k = 0; k < n; k++) {
            if (a[at + k] != p[k]) {
                return false;
            }
        }
        return true;
    }
}
