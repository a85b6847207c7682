package io.gpud.scaling;

import io.gpud.core.MonotonicClock;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * The EC2 instance metadata service, version 2: a session token from
 * {@code PUT /latest/api/token} (header {@code X-aws-ec2-metadata-token-ttl-seconds}),
 * then {@code GET /latest/meta-data/...} with {@code X-aws-ec2-metadata-token}.
 *
 * <p>The token is kept until a minute before it expires, and fetched again after a 401.
 * A path that does not exist (no spot notice yet) is an empty answer, not an error;
 * anything else unexpected is a {@link ScalingException}. Answers are capped at 64 KiB.
 */
public final class InstanceMetadataClient {

    /** Lifetime asked for each token: six hours, the maximum. */
    static final Duration TOKEN_TTL = Duration.ofHours(6);
    static final int MAX_BODY_BYTES = 64 * 1024;
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final URI base;
    private final HttpClient http;
    private final MonotonicClock clock;
    private String token;
    private long tokenRefreshAtNanos;

    public InstanceMetadataClient(URI base, MonotonicClock clock) {
        this.base = base;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** {@code autoscaling/target-lifecycle-state}: InService, Terminated, ...; empty outside Auto Scaling. */
    public Optional<String> targetLifecycleState() {
        return get("autoscaling/target-lifecycle-state").map(String::strip);
    }

    /** {@code spot/instance-action}: the interruption notice (JSON), empty while there is none. */
    public Optional<String> spotInstanceAction() {
        return get("spot/instance-action");
    }

    /** {@code instance-id}. */
    public String instanceId() {
        return get("instance-id").map(String::strip)
                .orElseThrow(() -> new ScalingException("IMDS at " + base + " has no instance-id"));
    }

    /** {@code GET /latest/meta-data/<path>}: the body, or empty on 404. */
    public synchronized Optional<String> get(String path) {
        for (int attempt = 0; attempt < 2; attempt++) {
            HttpRequest request = HttpRequest.newBuilder(base.resolve("/latest/meta-data/" + path)).timeout(TIMEOUT)
                    .header("X-aws-ec2-metadata-token", token()).GET().build();
            HttpResponse<InputStream> response = send(request);
            String body = body(response, path);
            switch (response.statusCode()) {
                case 200 -> {
                    return Optional.of(body);
                }
                case 404 -> {
                    return Optional.empty();
                }
                case 401 -> token = null;
                default -> throw new ScalingException("IMDS " + path + " answered " + response.statusCode());
            }
        }
        throw new ScalingException("IMDS refused a fresh token for " + path);
    }

    private String token() {
        if (token != null && clock.nanos() - tokenRefreshAtNanos < 0) {
            return token;
        }
        long asked = clock.nanos();
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/latest/api/token")).timeout(TIMEOUT)
                .header("X-aws-ec2-metadata-token-ttl-seconds", Long.toString(TOKEN_TTL.toSeconds()))
                .PUT(HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<InputStream> response = send(request);
        String body = body(response, "api/token");
        if (response.statusCode() != 200 || body.isBlank()) {
            throw new ScalingException("IMDS token request answered " + response.statusCode());
        }
        token = body.strip();
        tokenRefreshAtNanos = asked + TOKEN_TTL.minusMinutes(1).toNanos();
        return token;
    }

    private HttpResponse<InputStream> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new ScalingException("IMDS at " + base + " unreachable: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScalingException("interrupted while asking IMDS", e);
        }
    }

    private static String body(HttpResponse<InputStream> response, String path) {
        try (InputStream in = response.body()) {
            byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
            if (bytes.length > MAX_BODY_BYTES) {
                throw new ScalingException("IMDS " + path + " answered more than " + MAX_BODY_BYTES + " bytes");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ScalingException("IMDS " + path + ": cannot read the answer: " + e, e);
        }
    }
}
