package io.gpud.config;

import java.time.Duration;

/**
 * The data-plane HTTP server and the metrics server.
 *
 * @param host            address both servers bind; {@code 0.0.0.0} for every interface.
 *                        Peers and clients must reach the data port; nothing administrative
 *                        listens on TCP
 * @param port            data plane: OpenAI {@code /v1}, Ollama {@code /api}, health. 0 picks
 *                        a free port (tests)
 * @param metricsPort     Prometheus {@code /metrics}. 0 picks a free port
 * @param maxBodyBytes    request bodies above this are refused with 413 before they are
 *                        read whole. Raising it lets longer prompts in and costs that much
 *                        memory per concurrent request
 * @param maxJsonDepth    nesting depth above which a JSON body is refused with 400
 * @param retryAfter      the {@code Retry-After} sent with 429/503 (overload, draining)
 */
public record ApiConfig(
        String host,
        int port,
        int metricsPort,
        long maxBodyBytes,
        int maxJsonDepth,
        Duration retryAfter) {

    public ApiConfig {
        Validate.notBlank("api.host", host);
        Validate.port("api.port", port);
        Validate.port("api.metricsPort", metricsPort);
        Validate.range("api.maxBodyBytes", maxBodyBytes, 1024, 1L << 30);
        Validate.range("api.maxJsonDepth", maxJsonDepth, 4, 1000);
        Validate.positive("api.retryAfter", retryAfter);
    }

    /** Defaults: 0.0.0.0:8400, metrics on 9400, 1 MiB bodies, depth 64, retry after 1 s. */
    public static ApiConfig defaults() {
        return new ApiConfig("0.0.0.0", 8400, 9400, 1L << 20, 64, Duration.ofSeconds(1));
    }
}
