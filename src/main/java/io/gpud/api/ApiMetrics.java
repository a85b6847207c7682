package io.gpud.api;

import io.gpud.inference.Engine;
import io.gpud.inference.ModelCatalog;
import io.gpud.inference.PrefixCacheView;
import io.gpud.metrics.Counter;
import io.gpud.metrics.Histogram;
import io.gpud.metrics.MetricRegistry;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;

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
        prefixCache(registry, catalog);
    }

    /** Each engine's prefix cache counters ({@link PrefixCacheView#stats}), by model, read at scrape time. */
    private static void prefixCache(MetricRegistry registry, ModelCatalog catalog) {
        registry.counters("gpud_prefix_cache_lookups_total",
                "Sequences that looked for a cached prefix, by model", each(catalog, PrefixCacheView.Stats::lookups),
                "model");
        registry.counters("gpud_prefix_cache_lookup_tokens_total",
                "Prompt tokens of the requests that looked for a cached prefix, by model",
                each(catalog, PrefixCacheView.Stats::promptTokens), "model");
        registry.counters("gpud_prefix_cache_hit_tokens_total",
                "Prompt tokens whose keys and values came from the prefix cache, by model",
                each(catalog, PrefixCacheView.Stats::hitTokens), "model");
        registry.counters("gpud_prefix_cache_evictions_total",
                "Cached KV blocks evicted to make room, by model", each(catalog, PrefixCacheView.Stats::evictions),
                "model");
        registry.gauges("gpud_prefix_cache_blocks_in_use",
                "KV blocks held by running sequences, by model", each(catalog, PrefixCacheView.Stats::blocksInUse),
                "model");
        registry.gauges("gpud_prefix_cache_blocks_cached",
                "KV blocks held by no sequence, kept for reuse until evicted, by model",
                each(catalog, PrefixCacheView.Stats::blocksCached), "model");
        registry.gauges("gpud_prefix_cache_blocks",
                "KV blocks in all, by model", each(catalog, PrefixCacheView.Stats::blocks), "model");
    }

    /** One sample per served model with a prefix cache: {@code value} of its counters. */
    private static Consumer<MetricRegistry.Samples> each(ModelCatalog catalog,
                                                         ToDoubleFunction<PrefixCacheView.Stats> value) {
        return samples -> {
            for (Engine engine : catalog.engines()) {
                engine.prefixCache().ifPresent(cache ->
                        samples.add(value.applyAsDouble(cache.stats()), engine.info().name()));
            }
        };
    }
}
