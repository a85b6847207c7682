package io.gpud.scaling;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.imds.Ec2MetadataClient;
import software.amazon.awssdk.imds.Ec2MetadataClientException;
import software.amazon.awssdk.imds.Ec2MetadataRetryPolicy;

/**
 * The EC2 instance metadata service, version 2, through the AWS SDK's IMDS client: a
 * session token from {@code PUT /latest/api/token}, then {@code GET /latest/meta-data/...}
 * with it.
 *
 * <p>The SDK keeps a token for its whole lifetime; after a 401 (the token expired or IMDS
 * forgot it) a fresh SDK client takes a new one and the read is tried once more. A path
 * that does not exist (no spot notice yet) is an empty answer, not an error; anything else
 * unexpected is a {@link ScalingException}. There are no retries beyond that: the
 * {@link TerminationWatcher} asks again on its next poll.
 */
public final class InstanceMetadataClient implements AutoCloseable {

    /** Lifetime asked for each token: six hours, the maximum. */
    static final Duration TOKEN_TTL = Duration.ofHours(6);
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final URI base;
    private final SdkHttpClient http;
    private Ec2MetadataClient imds;

    public InstanceMetadataClient(URI base) {
        this.base = base;
        this.http = ApacheHttpClient.builder().connectionTimeout(TIMEOUT).socketTimeout(TIMEOUT).build();
        this.imds = sdkClient();
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
            try {
                return Optional.of(imds.get("/latest/meta-data/" + path).asString());
            } catch (Ec2MetadataClientException e) {
                switch (e.statusCode()) {
                    case 404 -> {
                        return Optional.empty();
                    }
                    case 401 -> {
                        imds.close();
                        imds = sdkClient();
                    }
                    default -> throw new ScalingException("IMDS " + path + " answered " + e.statusCode(), e);
                }
            } catch (SdkClientException e) {
                throw unreachable(e).orElseGet(() -> new ScalingException("IMDS " + path + ": " + e.getMessage(), e));
            }
        }
        throw new ScalingException("IMDS refused a fresh token for " + path);
    }

    private Ec2MetadataClient sdkClient() {
        return Ec2MetadataClient.builder().endpoint(base).httpClient(http).tokenTtl(TOKEN_TTL)
                .retryPolicy(Ec2MetadataRetryPolicy.none()).build();
    }

    /** The I/O failure under an SDK error, as "unreachable", when there is one. */
    private Optional<ScalingException> unreachable(SdkClientException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException || t instanceof UncheckedIOException) {
                Throwable io = t instanceof UncheckedIOException u ? u.getCause() : t;
                return Optional.of(new ScalingException("IMDS at " + base + " unreachable: " + io, e));
            }
        }
        return Optional.empty();
    }

    @Override
    public synchronized void close() {
        imds.close();
        http.close();
    }
}
