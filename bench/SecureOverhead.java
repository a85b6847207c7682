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
 * one-token request, times each on the client, and prints both distributions and the
 * difference of their p99s. Envelopes are sealed before timing (that is the tenant's
 * work); the timed secure request includes attestation, KMS Decrypt with Recipient, the
 * enclave's unwrap/open/seal and the audit records.
 *
 * <pre>java -cp target/gpud.jar bench/SecureOverhead.java BASE_URL KMS_ENDPOINT [REQUESTS]</pre>
 */
public final class SecureOverhead {

    static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/bench";
    static final String BODY = "{\"model\":\"gpud-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
            + "\"max_tokens\":1,\"temperature\":0}";

    public static void main(String[] args) throws Exception {
        String base = args[0];
        URI kms = URI.create(args[1]);
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        int warmup = 50;
        var http = HttpClient.newHttpClient();
        List<byte[]> envelopes = new ArrayList<>();
        List<byte[]> keys = new ArrayList<>();
        String run = Long.toString(System.nanoTime(), 36);
        for (int i = 0; i < n + warmup; i++) {
            var sealed = TenantTool.seal(kms, "us-east-1", true, KEY, "bench", "bench-" + run + "-" + i,
                    BODY.getBytes(StandardCharsets.UTF_8));
            envelopes.add(sealed.envelopeJson());
            keys.add(sealed.keyFileJson());
        }
        long[] plain = new long[n];
        long[] secure = new long[n];
        for (int i = 0; i < n + warmup; i++) {
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
                String opened = new String(TenantTool.open(keys.get(0), s.body().getBytes(StandardCharsets.UTF_8)),
                        StandardCharsets.UTF_8);
                if (!opened.contains("chat.completion")) {
                    throw new IllegalStateException("the sealed response does not open to a completion: " + opened);
                }
            }
            if (i >= warmup) {
                plain[i - warmup] = t1 - t0;
                secure[i - warmup] = t2 - t1;
            }
        }
        Arrays.sort(plain);
        Arrays.sort(secure);
        System.out.printf("requests %d (after %d warm-up), one-token chat completion, loopback%n", n, warmup);
        System.out.printf("plain   p50 %7.2f ms   p99 %7.2f ms%n", ms(plain, 0.50), ms(plain, 0.99));
        System.out.printf("secure  p50 %7.2f ms   p99 %7.2f ms%n", ms(secure, 0.50), ms(secure, 0.99));
        double d = ms(secure, 0.99) - ms(plain, 0.99);
        System.out.printf("overhead p99 %+.2f ms (secure/plain p99 = %.2fx), p50 %+.2f ms; target p99 overhead <= 5 ms: %s%n",
                d, ms(secure, 0.99) / ms(plain, 0.99), ms(secure, 0.50) - ms(plain, 0.50), d <= 5 ? "met" : "NOT met");
    }

    static HttpResponse<String> post(HttpClient http, String url, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static double ms(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
    }
}
