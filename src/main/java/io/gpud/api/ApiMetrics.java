package io.gpud.api;

import io.gpud.inference.ModelCatalog;
import io.gpud.metrics.Counter;
import io.gpud.metrics.Histogram;
import io.gpud.metrics.MetricRegistry;

/** The metric families the API records into, registered once per server. */
final class ApiMetrics {

    /** Label value of requests that matched no route. */
    static final String UNMATCHED = "unmatched";

    final Counter requests;
    final Histogram requestSeconds;
    final Histogram timeToFirstToken;
    final Counter generatedTokens;
    final Counter promptTokens;

    ApiMetrics(MetricRegistry registry, ModelCatalog catalog) {
        requests = registry.counter("gpud_http_requests_total",
                "HTTP requests answered, by route pattern and status code", "route", "status");
        requestSeconds = registry.histogram("gpud_http_request_duration_seconds",
                "Time from request to the last byte of the response, by route pattern",
                Histogram.LATENCY_SECONDS, "route");
        timeToFirstToken = registry.histogram("gpud_time_to_first_token_seconds",
                "Time from request to the first generated token, by model", Histogram.LATENCY_SECONDS, "model");
        generatedTokens = registry.counter("gpud_generated_tokens_total",
                "Tokens generated and delivered, by model", "model");
        promptTokens = registry.counter("gpud_prompt_tokens_total",
                "Prompt tokens admitted, by model", "model");
        registry.gauge("gpud_inflight_requests",
                "Sequences admitted and not finished, over all models", catalog::inFlight);
        registry.gauge("gpud_queue_depth",
                "Sequences admitted and waiting to start, over all models", catalog::queueDepth);
    }
}
