package io.gpud.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mutated HTTP requests, each a pure function of (seed, index), so that one finding can be
 * replayed alone ({@code --only INDEX}). A case starts from a valid request to one of the
 * daemon's routes, then takes up to four mutations: of the request line (method, target,
 * version), of the headers (Host, Content-Length, Transfer-Encoding, folding, sizes), of
 * the framing (chunk sizes, extensions, a missing last chunk, a body shorter or longer than
 * its length, a second request behind the first), of the JSON body (types, huge numbers,
 * deep nesting, long strings, broken syntax), and of the bytes themselves.
 */
final class HttpCases {

    /** A request to send: its bytes, which port (data or metrics), and what was done to it. */
    record Case(long index, byte[] bytes, boolean metrics, String what) {
    }

    /** A request before rendering; the mutations change its parts. */
    private static final class Req {
        String method;
        String target;
        String version = "HTTP/1.1";
        final List<String[]> headers = new ArrayList<>();
        byte[] body = new byte[0];
        boolean chunked;
        /** Chunk sizes to cut the body into (chunked only); empty: one chunk. */
        int[] cuts = new int[0];
        /** Set by a mutation: the Content-Length header is left as the mutation wrote it. */
        boolean lengthFixed;
        /** Raw text of the chunked body when a mutation rewrote it. */
        byte[] rawChunked;
        /** Bytes sent after the request (a pipelined or smuggled second request). */
        byte[] trailing = new byte[0];
        boolean metrics;
        final List<String> what = new ArrayList<>();
    }

    private static final String MODEL = "gpud-demo";
    private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE",
        "CONNECT", "PRI", "get", "POST ", "G\u0000ET", "P\u00c3ST", "XYZZY", "", "GETGETGETGETGETGETGETGETGETGET"};
    private static final String[] VERSIONS = {"HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/1.2", "HTTP/9.9", "http/1.1",
        "HTTP/1.1 ", "HTTP/1.", "HTTP/11", "HTTP/1.1\u0000", "HTTP/-1.1", "", "HTTPS/1.1", "HTTP/1.01"};
    private static final String[] TARGET_JUNK = {"?", "?a=1&a=2", "#frag", "/", "//", "/..", "/../../etc/passwd",
        "%00", "%2e%2e", "%ff", "%", "%zz", ";x", " ", "\t", "\u00e9", "?\u0000"};
    private static final String[] HEADER_NAMES = {"Content-Type", "Accept", "Expect", "Connection", "Upgrade",
        "Transfer-Encoding", "Content-Length", "Accept-Encoding", "Content-Encoding", "x-gpud-forwarded-by",
        "Authorization", "Cookie", "Range", "Trailer", "TE", "Keep-Alive", "Origin", "X-Forwarded-For"};
    private static final String[] HEADER_VALUES = {"", " ", "chunked", "identity", "gzip", "close", "keep-alive",
        "100-continue", "h2c", "application/json", "text/plain", "*/*", "0", "-1", "18446744073709551616",
        "\u00ff\u00fe", "a\u0000b", "bytes=0-0", "Bearer x"};
    private static final String[] NUMBERS = {"0", "-1", "1e12", "1e309", "-1e309", "1.5", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890123456789012345678901234567890",
        "0.0000000000000000000000001", "2147483648", "NaN", "Infinity", "-0", "1E400", "00012", "0x10", "+1"};

    private final long seed;

    HttpCases(long seed) {
        this.seed = seed;
    }

    Case make(long index) {
        var rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        Req r = valid(rnd);
        if (rnd.nextInt(10) > 0) {
            int n = 1 + rnd.nextInt(4);
            for (int i = 0; i < n; i++) {
                mutate(r, rnd);
            }
        }
        byte[] bytes = render(r);
        if (rnd.nextInt(10) < 2) {
            bytes = Mutations.bytes(bytes, rnd, 1 + rnd.nextInt(3), r.what);
        }
        return new Case(index, bytes, r.metrics, String.join(", ", r.what));
    }

    // ------------------------------------------------------------------ the valid corpus

    private static Req valid(SplittableRandom rnd) {
        var r = new Req();
        String stream = rnd.nextBoolean() ? "true" : "false";
        String maxTokens = Integer.toString(1 + rnd.nextInt(16));
        switch (rnd.nextInt(14)) {
            case 0 -> get(r, "/v1/models");
            case 1 -> post(r, "/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\","
                    + "\"max_tokens\":" + maxTokens + ",\"stream\":" + stream + ",\"temperature\":0.7}");
            case 2, 3 -> post(r, "/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":"
                    + "\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hello there\"}],"
                    + "\"max_tokens\":" + maxTokens + ",\"stream\":" + stream + ",\"top_p\":0.9,\"seed\":7}");
            case 4 -> post(r, "/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Why is the sky blue?\","
                    + "\"stream\":" + stream + ",\"options\":{\"num_predict\":" + maxTokens + ",\"temperature\":0}}");
            case 5 -> post(r, "/api/chat", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\","
                    + "\"content\":\"hi\"}],\"stream\":" + stream + ",\"options\":{\"num_predict\":" + maxTokens + "}}");
            case 6 -> get(r, "/api/tags");
            case 7 -> get(r, "/api/version");
            case 8 -> get(r, "/health/live");
            case 9 -> get(r, "/health/ready");
            case 10 -> {
                get(r, "/metrics");
                r.metrics = true;
            }
            case 11 -> post(r, "/v1/secure/chat/completions", "{\"envelope\":\"AAAA\",\"tenant\":\"t\"}");
            case 12 -> {
                post(r, "/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"chunked\"}],\"max_tokens\":" + maxTokens + "}");
                r.chunked = true;
                r.cuts = new int[] {1 + rnd.nextInt(8), 1 + rnd.nextInt(64)};
                r.what.add("chunked body");
            }
            default -> {
                get(r, "/v1/models");
                r.trailing = ("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.UTF_8);
                r.what.add("pipelined second request");
            }
        }
        r.what.addFirst(r.method + " " + r.target);
        return r;
    }

    private static void get(Req r, String path) {
        r.method = "GET";
        r.target = path;
        r.headers.add(new String[] {"Host", "127.0.0.1"});
        r.headers.add(new String[] {"Accept", "*/*"});
    }

    private static void post(Req r, String path, String json) {
        r.method = "POST";
        r.target = path;
        r.headers.add(new String[] {"Host", "127.0.0.1"});
        r.headers.add(new String[] {"Content-Type", "application/json"});
        r.body = json.getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ mutations

    private static void mutate(Req r, SplittableRandom rnd) {
        switch (rnd.nextInt(16)) {
            case 0 -> {
                r.method = pick(rnd, METHODS);
                r.what.add("method " + Mutations.escape(r.method));
            }
            case 1 -> {
                r.target = switch (rnd.nextInt(4)) {
                    case 0 -> r.target + pick(rnd, TARGET_JUNK);
                    case 1 -> "/" + "a".repeat(rnd.nextBoolean() ? 8 * 1024 : 70 * 1024);
                    case 2 -> "http://127.0.0.1" + r.target;
                    default -> pick(rnd, new String[] {"*", "", "v1/models", "/V1/MODELS", "/v1/models/",
                        "/api", "/v1/chat/completions/../models", "/health/live?" + "x=1&".repeat(2000)});
                };
                r.what.add("target " + Mutations.escape(Mutations.shorten(r.target)));
            }
            case 2 -> {
                r.version = pick(rnd, VERSIONS);
                r.what.add("version " + Mutations.escape(r.version));
            }
            case 3 -> contentLength(r, rnd);
            case 4 -> transferEncoding(r, rnd);
            case 5 -> chunkFraming(r, rnd);
            case 6, 7, 8 -> json(r, rnd);
            case 9 -> {
                r.headers.add(new String[] {pick(rnd, HEADER_NAMES), pick(rnd, HEADER_VALUES)});
                r.what.add("header " + Mutations.escape(r.headers.getLast()[0] + ": " + r.headers.getLast()[1]));
            }
            case 10 -> headerShape(r, rnd);
            case 11 -> {
                if (!r.headers.isEmpty()) {
                    String[] h = r.headers.remove(rnd.nextInt(r.headers.size()));
                    r.what.add("no " + h[0]);
                }
            }
            case 12 -> smuggle(r, rnd);
            case 13 -> {
                r.headers.add(new String[] {"Connection", rnd.nextBoolean() ? "close" : "keep-alive"});
                r.headers.add(new String[] {"Expect", "100-continue"});
                r.what.add("expect 100-continue");
            }
            case 14 -> {
                r.body = Mutations.bytes(r.body, rnd, 1 + rnd.nextInt(4), r.what);
            }
            default -> {
                r.trailing = Mutations.concat(r.trailing, rnd.nextBoolean() ? new byte[] {'\r', '\n'}
                        : Mutations.randomBytes(rnd, 1 + rnd.nextInt(64)));
                r.what.add("bytes after the request");
            }
        }
    }

    private static void contentLength(Req r, SplittableRandom rnd) {
        r.headers.removeIf(h -> h[0].equalsIgnoreCase("Content-Length"));
        int n = r.body.length;
        String v = switch (rnd.nextInt(9)) {
            case 0 -> Integer.toString(n + 1 + rnd.nextInt(100));
            case 1 -> Integer.toString(Math.max(0, n - 1 - rnd.nextInt(Math.max(1, n))));
            case 2 -> "-1";
            case 3 -> "99999999999999999999";
            case 4 -> n + ", " + n;
            case 5 -> " " + n + " ";
            case 6 -> "+" + n;
            case 7 -> "0x" + Integer.toHexString(n);
            default -> Integer.toString(n);
        };
        r.headers.add(new String[] {"Content-Length", v});
        if (rnd.nextInt(4) == 0) {
            r.headers.add(new String[] {"Content-Length", Integer.toString(n + rnd.nextInt(3) - 1)});
            v = v + " twice";
        }
        r.lengthFixed = true;
        r.what.add("content-length " + v);
    }

    private static void transferEncoding(Req r, SplittableRandom rnd) {
        String[] values = {"chunked", "Chunked", " chunked", "chunked ", "chunked, identity", "identity, chunked",
            "gzip, chunked", "chunked, chunked", "xchunked", "chunked\u0000", "identity", "gzip"};
        String v = pick(rnd, values);
        r.headers.add(new String[] {"Transfer-Encoding", v});
        r.chunked = v.strip().equalsIgnoreCase("chunked");
        if (rnd.nextBoolean()) {
            r.headers.add(new String[] {"Content-Length", Integer.toString(r.body.length)});
            r.lengthFixed = true;
            v += " + content-length";
        }
        r.what.add("transfer-encoding " + Mutations.escape(v));
    }

    /** Hand-written chunked bodies, most of them wrong. */
    private static void chunkFraming(Req r, SplittableRandom rnd) {
        r.chunked = true;
        byte[] b = r.body;
        int half = b.length / 2;
        String first = new String(b, 0, half, StandardCharsets.ISO_8859_1);
        String rest = new String(b, half, b.length - half, StandardCharsets.ISO_8859_1);
        String hx = Integer.toHexString(half);
        String hr = Integer.toHexString(b.length - half);
        String[] shapes = {
            hx + "\r\n" + first + "\r\n" + hr + "\r\n" + rest + "\r\n0\r\n\r\n",
            hx + ";ext=1\r\n" + first + "\r\n" + hr + ";a=\"b\"\r\n" + rest + "\r\n0\r\n\r\n",
            hx + "\r\n" + first + "\r\n" + hr + "\r\n" + rest + "\r\n",
            hx + "\r\n" + first + "\r\n" + hr + "\r\n" + rest,
            hx + "\r\n" + first + hr + "\r\n" + rest + "\r\n0\r\n\r\n",
            "zz\r\n" + first + "\r\n0\r\n\r\n",
            "-1\r\n" + first + "\r\n0\r\n\r\n",
            "ffffffffffffffffff\r\n" + first + "\r\n0\r\n\r\n",
            "7fffffff\r\n" + first + "\r\n0\r\n\r\n",
            Integer.toHexString(b.length + 50) + "\r\n" + first + rest + "\r\n0\r\n\r\n",
            Integer.toHexString(Math.max(0, b.length - 5)) + "\r\n" + first + rest + "\r\n0\r\n\r\n",
            hx + "\n" + first + "\n" + hr + "\n" + rest + "\n0\n\n",
            hx + "\r\n" + first + "\r\n" + hr + "\r\n" + rest + "\r\n0\r\nX-Trailer: 1\r\n\r\n",
            hx.toUpperCase() + " \r\n" + first + "\r\n" + hr + "\t\r\n" + rest + "\r\n0\r\n\r\n",
            "0x" + hx + "\r\n" + first + "\r\n0\r\n\r\n",
            "\r\n" + first + "\r\n0\r\n\r\n",
            hx + "\r\n" + first + "\r\n" + hr + "\r\n" + rest + "\r\n0\r\n",
            "0000000000000000000000" + hx + "\r\n" + first + "\r\n" + hr + "\r\n" + rest + "\r\n0\r\n\r\n",
        };
        int s = rnd.nextInt(shapes.length);
        r.rawChunked = shapes[s].getBytes(StandardCharsets.ISO_8859_1);
        if (r.headers.stream().noneMatch(h -> h[0].equals("Transfer-Encoding"))) {
            r.headers.add(new String[] {"Transfer-Encoding", "chunked"});
        }
        r.what.add("chunk framing #" + s);
    }

    private static void json(Req r, SplittableRandom rnd) {
        if (r.body.length == 0) {
            r.body = "{}".getBytes(StandardCharsets.UTF_8);
        }
        String s = new String(r.body, StandardCharsets.UTF_8);
        String what;
        switch (rnd.nextInt(12)) {
            case 0, 1 -> {
                String n = pick(rnd, NUMBERS);
                s = replaceNumber(s, rnd, n);
                what = "number " + n;
            }
            case 2 -> {
                String v = pick(rnd, new String[] {"null", "true", "\"x\"", "[]", "{}", "[1,2]", "\"\"", "-1"});
                s = replaceValue(s, rnd, v);
                what = "value " + v;
            }
            case 3 -> {
                int depth = pick(rnd, new int[] {63, 64, 65, 200, 5000, 100000});
                String nest = "[".repeat(depth) + "]".repeat(depth);
                s = replaceValue(s, rnd, nest);
                what = "nesting " + depth;
            }
            case 4 -> {
                int len = pick(rnd, new int[] {256, 70_000, 900_000, 1_100_000});
                s = replaceValue(s, rnd, "\"" + "a".repeat(len) + "\"");
                what = "string of " + len;
            }
            case 5 -> {
                String esc = pick(rnd, new String[] {"\\ud800", "\\udc00x", "\\u0000", "\\x41", "\\", "\\uZZZZ",
                    "\u0000", "\u00ff", "\\n\\r\\t", "\ud83d\ude00"});
                s = replaceValue(s, rnd, "\"" + esc + "\"");
                what = "string " + Mutations.escape(esc);
            }
            case 6 -> {
                s = s.replaceFirst("\\{", "{\"model\":1,\"model\":\"" + MODEL + "\",");
                what = "duplicate key";
            }
            case 7 -> {
                int cut = rnd.nextInt(s.length() + 1);
                s = s.substring(0, cut);
                what = "json cut at " + cut;
            }
            case 8 -> {
                s = s + pick(rnd, new String[] {"}", "garbage", "{}", "\u0000", " ", ",", "]"});
                what = "after the json";
            }
            case 9 -> {
                s = pick(rnd, new String[] {"[]", "null", "1", "\"s\"", "", "{", "{\"model\":}", "\ufeff{}", "true"});
                what = "body " + Mutations.escape(s);
            }
            case 10 -> {
                String field = pick(rnd, new String[] {"messages", "prompt", "max_tokens", "stream", "options", "model",
                    "temperature", "stop", "n", "logprobs", "tools", "format", "keep_alive", "num_predict"});
                s = s.replaceFirst("\\{", "{\"" + field + "\":" + pick(rnd, new String[] {"null", "-5", "[]",
                    "{}", "\"\"", "1e12", "[null]", "[{\"role\":1}]", "99999999999"}) + ",");
                what = "field " + field;
            }
            default -> {
                s = s.replace("\"messages\":[", "\"messages\":[" + "{\"role\":\"user\",\"content\":\"x\"},"
                        .repeat(1 + rnd.nextInt(2000)));
                what = "many messages";
            }
        }
        r.body = s.getBytes(StandardCharsets.UTF_8);
        r.what.add(Mutations.shorten(what));
    }

    private static void headerShape(Req r, SplittableRandom rnd) {
        switch (rnd.nextInt(8)) {
            case 0 -> {
                r.headers.add(new String[] {"X-Big", "v".repeat(rnd.nextBoolean() ? 9_000 : 70_000)});
                r.what.add("big header");
            }
            case 1 -> {
                int n = rnd.nextBoolean() ? 101 : 2000;
                for (int i = 0; i < n; i++) {
                    r.headers.add(new String[] {"X-H" + i, "v"});
                }
                r.what.add(n + " headers");
            }
            case 2 -> {
                r.headers.add(new String[] {" folded", "continuation"});
                r.what.add("obs-fold");
            }
            case 3 -> {
                r.headers.add(new String[] {"NoColon", null});
                r.what.add("header without a colon");
            }
            case 4 -> {
                r.headers.add(new String[] {"Content-Length ", Integer.toString(r.body.length)});
                r.what.add("space before colon");
            }
            case 5 -> {
                r.headers.add(new String[] {"Host", "evil.example"});
                r.what.add("two hosts");
            }
            case 6 -> {
                r.headers.add(new String[] {"X-\u0000", "\r"});
                r.what.add("control bytes in a header");
            }
            default -> {
                r.headers.add(new String[] {"", "empty name"});
                r.what.add("empty header name");
            }
        }
    }

    /** A body over the size limit, and a complete second request hidden in it. */
    private static void smuggle(Req r, SplittableRandom rnd) {
        String hidden = "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        int size = rnd.nextBoolean() ? 1024 * 1024 + 1 : 1024 * 1024 + 64 * 1024;
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) ' ');
        byte[] h = hidden.getBytes(StandardCharsets.US_ASCII);
        for (int at = 0; at + h.length < size; at += 4096) {
            System.arraycopy(h, 0, body, at, h.length);
        }
        if (!r.method.equals("POST")) {
            r.method = "POST";
            r.target = "/v1/completions";
        }
        r.body = body;
        r.what.add("body of " + size + " with requests inside");
    }

    // ------------------------------------------------------------------ rendering

    private static byte[] render(Req r) {
        var out = new ByteArrayOutputStream();
        write(out, r.method + " " + r.target + (r.version.isEmpty() ? "" : " " + r.version) + "\r\n");
        byte[] body = r.body;
        if (r.chunked) {
            body = r.rawChunked != null ? r.rawChunked : chunk(r.body, r.cuts);
            if (r.headers.stream().noneMatch(h -> h[0].equalsIgnoreCase("Transfer-Encoding"))) {
                r.headers.add(new String[] {"Transfer-Encoding", "chunked"});
            }
        } else if (!r.lengthFixed && (r.body.length > 0 || r.method.equals("POST"))) {
            r.headers.add(new String[] {"Content-Length", Integer.toString(r.body.length)});
        }
        for (String[] h : r.headers) {
            write(out, h[1] == null ? h[0] + "\r\n" : h[0] + ": " + h[1] + "\r\n");
        }
        write(out, "\r\n");
        out.writeBytes(body);
        out.writeBytes(r.trailing);
        return out.toByteArray();
    }

    private static byte[] chunk(byte[] body, int[] cuts) {
        var out = new ByteArrayOutputStream();
        int at = 0;
        int c = 0;
        while (at < body.length) {
            int n = Math.min(body.length - at, cuts.length == 0 ? body.length : cuts[c++ % cuts.length]);
            write(out, Integer.toHexString(n) + "\r\n");
            out.write(body, at, n);
            write(out, "\r\n");
            at += n;
        }
        write(out, "0\r\n\r\n");
        return out.toByteArray();
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    // ------------------------------------------------------------------ helpers

    private static String replaceNumber(String s, SplittableRandom rnd, String n) {
        var m = java.util.regex.Pattern.compile("(?<=:)-?[0-9][0-9.eE+-]*").matcher(s);
        var spans = new ArrayList<int[]>();
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        if (spans.isEmpty()) {
            return s.replaceFirst("\\{", "{\"max_tokens\":" + n + ",");
        }
        int[] sp = spans.get(rnd.nextInt(spans.size()));
        return s.substring(0, sp[0]) + n + s.substring(sp[1]);
    }

    /** Replaces the value after a random {@code "key":} with {@code v} (up to the next , or }). */
    private static String replaceValue(String s, SplittableRandom rnd, String v) {
        var m = java.util.regex.Pattern.compile("\"[a-z_]+\":").matcher(s);
        var ends = new ArrayList<Integer>();
        while (m.find()) {
            ends.add(m.end());
        }
        if (ends.isEmpty()) {
            return s.replaceFirst("\\{", "{\"prompt\":" + Mutations.quoteIfBare(v) + ",");
        }
        int start = ends.get(rnd.nextInt(ends.size()));
        int end = start;
        int depth = 0;
        boolean inString = false;
        for (; end < s.length(); end++) {
            char c = s.charAt(end);
            if (inString) {
                if (c == '\\') {
                    end++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '[' || c == '{') {
                depth++;
            } else if (c == ']' || c == '}') {
                if (depth == 0) {
                    break;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                break;
            }
        }
        return s.substring(0, start) + v + s.substring(Math.min(end, s.length()));
    }

    private static <T> T pick(SplittableRandom rnd, T[] options) {
        return options[rnd.nextInt(options.length)];
    }

    private static int pick(SplittableRandom rnd, int[] options) {
        return options[rnd.nextInt(options.length)];
    }
}
