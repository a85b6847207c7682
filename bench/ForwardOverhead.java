import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;

/**
 * Forwarding overhead on loopback: the same request sent to a node that forwards it (a
 * draining peer) and straight to the node that serves it, interleaved round by round so
 * both see the same machine load. Prints p50/p90/p99 of each, the overhead (through minus
 * direct at each percentile) against SPEC section 5's targets (p50 <= 3 ms, p99 <= 10 ms),
 * and checks every answer came from the serving node.
 *
 *   java -cp target/gpud.jar bench/ForwardOverhead.java THROUGH_URL DIRECT_URL SERVING_NODE [ROUNDS]
 */
public class ForwardOverhead {

    /** Rounds before measuring: enough for the JIT to compile both daemons' request paths. */
    private static final int WARMUP_ROUNDS = 1000;

    public static void main(String[] args) throws Exception {
        String through = args[0];
        String direct = args[1];
        String serving = args[2];
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 500;
        var client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        String body = "{\"model\":\"gpud-demo\",\"prompt\":\"hi\",\"max_tokens\":1,\"temperature\":0}";
        for (int i = 0; i < WARMUP_ROUNDS; i++) {
            time(client, through, body, serving);
            time(client, direct, body, serving);
        }
        long[] viaPeer = new long[rounds];
        long[] straight = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            if (i % 2 == 0) {
                viaPeer[i] = time(client, through, body, serving);
                straight[i] = time(client, direct, body, serving);
            } else {
                straight[i] = time(client, direct, body, serving);
                viaPeer[i] = time(client, through, body, serving);
            }
        }
        Arrays.sort(viaPeer);
        Arrays.sort(straight);
        System.out.printf("%d rounds, each request once through the peer and once direct (interleaved)%n", rounds);
        System.out.printf("%-14s %9s %9s %9s%n", "", "p50 ms", "p90 ms", "p99 ms");
        row("direct", straight);
        row("through peer", viaPeer);
        double o50 = ms(pct(viaPeer, 50)) - ms(pct(straight, 50));
        double o99 = ms(pct(viaPeer, 99)) - ms(pct(straight, 99));
        System.out.printf("overhead p50 %.2f ms (target 3 ms, ratio %.2f), p99 %.2f ms (target 10 ms, ratio %.2f); "
                + "through/direct at p50 %.2fx%n", o50, o50 / 3, o99, o99 / 10,
                (double) pct(viaPeer, 50) / pct(straight, 50));
    }

    private static long time(HttpClient client, String base, String body, String serving) throws Exception {
        long start = System.nanoTime();
        var response = client.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("content-type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        long took = System.nanoTime() - start;
        String node = response.headers().firstValue("x-gpud-node").orElse("?");
        if (response.statusCode() != 200 || !node.equals(serving)) {
            throw new IllegalStateException(base + " answered " + response.statusCode() + " from " + node + ": "
                    + response.body());
        }
        return took;
    }

    private static long pct(long[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void row(String name, long[] sorted) {
        System.out.printf("%-14s %9.2f %9.2f %9.2f%n", name, ms(pct(sorted, 50)), ms(pct(sorted, 90)),
                ms(pct(sorted, 99)));
    }
}
