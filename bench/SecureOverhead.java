import io.gpud.enclave.TenantTool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Overhead of the secure envelope against the plain route on one local-mode daemon:
 * alternates POST /v1/chat/completions and POST /v1/secure/chat/completions with the same
 * one-token request, times each on the client, and compares the two distributions.
 * Envelopes are sealed before timing (that is the tenant's work).
 *
 * <p>Two kinds of secure request, measured in separate phases of every round:
 * <ul>
 *   <li><b>session</b>: a tenant seals SESSION_LENGTH requests under one data key (one
 *       GenerateDataKey); the first of each session goes through attestation, KMS Decrypt
 *       with Recipient and the enclave's RSA unwrap, the rest find the key cached in the
 *       enclave and cost AES-GCM, frames and audit records. The p99 is over all of them,
 *       first requests included.</li>
 *   <li><b>cached</b>: the session requests less the first of each session (and the plain
 *       requests beside them): what the enclave's key cache leaves of the overhead.</li>
 *   <li><b>cold</b>: every request under a data key of its own, so each pays the full
 *       KMS path (what a session's first request costs).</li>
 * </ul>
 * Each round prints both phases; the summary gives min / median / max over rounds of the
 * p99 overhead (secure p99 minus plain p99 of the same phase).
 *
 * <p>Before round 1, WARMUP_REQUESTS session and as many cold requests run untimed, so the
 * rounds measure a daemon whose compiler has seen the secure path (a serving daemon) rather
 * than its first few hundred requests; 0 measures from the start.
 *
 * <pre>java -cp target/gpud.jar bench/SecureOverhead.java BASE_URL KMS_ENDPOINT [REQUESTS] [ROUNDS] [SESSION_LENGTH] [WARMUP_REQUESTS]</pre>
 */
public final class SecureOverhead {

    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/bench";
    static final String BODY = "{\"model\":\"gpud-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
            + "\"max_tokens\":1,\"temperature\":0}";
    static final int WARMUP = 50;

    record Phase(double plainP50, double plainP99, double secureP50, double secureP99, Phase cachedOnly) {
        double overheadP99() {
            return secureP99 - plainP99;
        }
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        URI kms = URI.create(args[1]);
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int sessionLength = args.length > 4 ? Integer.parseInt(args[4]) : 100;
        int warmup = args.length > 5 ? Integer.parseInt(args[5]) : 1000;
        int coldN = Math.max(100, n / 3);
        var http = HttpClient.newHttpClient();
        String run = Long.toString(System.nanoTime(), 36);
        System.out.printf("one-token chat completion, loopback; per round: %d session requests (sessions of %d) "
                + "and %d cold requests, each after %d warm-up%n", n, sessionLength, coldN, WARMUP);
        if (warmup > 0) {
            System.out.printf("warm-up: %d session and %d cold requests, untimed%n", warmup, warmup);
            phase(http, base, kms, run + "-ws", warmup, sessionLength);
            phase(http, base, kms, run + "-wc", warmup, 1);
        }
        List<Phase> session = new ArrayList<>();
        List<Phase> cold = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            session.add(phase(http, base, kms, run + "-s" + r, n, sessionLength));
            cold.add(phase(http, base, kms, run + "-c" + r, coldN, 1));
            print("round " + (r + 1) + " session", session.getLast());
            print("round " + (r + 1) + " cached ", session.getLast().cachedOnly());
            print("round " + (r + 1) + " cold   ", cold.getLast());
        }
        summary("session", session);
        summary("cached ", session.stream().map(Phase::cachedOnly).toList());
        summary("cold   ", cold);
        double worst = session.stream().mapToDouble(Phase::overheadP99).max().orElseThrow();
        System.out.printf("target p99 overhead <= 5 ms for session requests: %s (worst round %+.2f ms)%n",
                worst <= 5 ? "met" : "NOT met", worst);
    }

    /** One phase: WARMUP + count alternating plain/secure requests, secure ones in sessions of {@code sessionLength}. */
    static Phase phase(HttpClient http, String base, URI kms, String tag, int count, int sessionLength) throws Exception {
        List<byte[]> envelopes = new ArrayList<>();
        byte[] firstKeyFile = null;
        TenantTool.DataKeySession session = null;
        for (int i = 0; i < count + WARMUP; i++) {
            if (i % sessionLength == 0) {
                if (session != null) {
                    session.close();
                }
                session = TenantTool.openSession(kms, "us-east-1", true, KEY, "bench", "bench-" + tag + "-" + i);
            }
            var sealed = session.seal("bench-" + tag + "-r" + i, BODY.getBytes(StandardCharsets.UTF_8));
            envelopes.add(sealed.envelopeJson());
            if (i == 0) {
                firstKeyFile = sealed.keyFileJson();
            }
        }
        session.close();
        long[] plain = new long[count];
        long[] secure = new long[count];
        long[] cachedPlain = new long[count];
        long[] cachedSecure = new long[count];
        int cached = 0;
        for (int i = 0; i < count + WARMUP; i++) {
            long t0 = System.nanoTime();
            var p = post(http, base + "/v1/chat/completions", BODY.getBytes(StandardCharsets.UTF_8));
            long t1 = System.nanoTime();
            var s = post(http, base + "/v1/secure/chat/completions", envelopes.get(i));
            long t2 = System.nanoTime();
            if (p.statusCode() != 200 || s.statusCode() != 200) {
                throw new IllegalStateException("request " + i + ": plain " + p.statusCode() + ", secure "
                        + s.statusCode() + " " + s.body());
            }
            if (i == 0) {
                String opened = new String(TenantTool.open(firstKeyFile, s.body().getBytes(StandardCharsets.UTF_8)),
                        StandardCharsets.UTF_8);
                if (!opened.contains("chat.completion")) {
                    throw new IllegalStateException("the sealed response does not open to a completion: " + opened);
                }
            }
            if (i >= WARMUP) {
                plain[i - WARMUP] = t1 - t0;
                secure[i - WARMUP] = t2 - t1;
                if (i % sessionLength != 0) {
                    cachedPlain[cached] = t1 - t0;
                    cachedSecure[cached++] = t2 - t1;
                }
            }
        }
        Phase cachedOnly = null;
        if (cached > 0) {
            cachedPlain = Arrays.copyOf(cachedPlain, cached);
            cachedSecure = Arrays.copyOf(cachedSecure, cached);
            Arrays.sort(cachedPlain);
            Arrays.sort(cachedSecure);
            cachedOnly = new Phase(ms(cachedPlain, 0.50), ms(cachedPlain, 0.99), ms(cachedSecure, 0.50),
                    ms(cachedSecure, 0.99), null);
        }
        Arrays.sort(plain);
        Arrays.sort(secure);
        return new Phase(ms(plain, 0.50), ms(plain, 0.99), ms(secure, 0.50), ms(secure, 0.99), cachedOnly);
    }

    static void print(String label, Phase p) {
        System.out.printf("%s  plain p50 %6.2f p99 %7.2f ms | secure p50 %6.2f p99 %7.2f ms | overhead p50 %+6.2f p99 %+7.2f ms%n",
                label, p.plainP50(), p.plainP99(), p.secureP50(), p.secureP99(), p.secureP50() - p.plainP50(),
                p.overheadP99());
    }

    static void summary(String label, List<Phase> phases) {
        double[] d = phases.stream().mapToDouble(Phase::overheadP99).sorted().toArray();
        double[] ratio = phases.stream().mapToDouble(p -> p.secureP99() / p.plainP99()).sorted().toArray();
        System.out.printf("%s over %d rounds: p99 overhead min %+.2f median %+.2f max %+.2f ms; secure/plain p99 "
                + "median %.2fx%n", label, d.length, d[0], d[d.length / 2], d[d.length - 1], ratio[ratio.length / 2]);
    }

    static HttpResponse<String> post(HttpClient http, String url, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static double ms(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
    }
}
