package io.gpud.metrics;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * The node's metrics: a thin layer over the Prometheus Java client's {@code PrometheusRegistry},
 * which records them and writes the exposition (the Prometheus text format, or OpenMetrics
 * when the scraper asks for it).
 *
 * <p>Families are created once at start-up and looked up by the code that records into
 * them; recording is lock-free. Label values are bounded by construction (routes, status
 * codes, model names), never taken raw from request input. The client's types stay in this
 * package: callers see {@link Counter}, {@link Histogram}, gauges read at scrape time and
 * {@link Scrape}.
 */
public final class MetricRegistry {

    /** Content type of {@link #scrape()}: the Prometheus text format, version 0.0.4. */
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    private static final ExpositionFormats FORMATS = ExpositionFormats.init();

    private final PrometheusRegistry registry = new PrometheusRegistry();

    /** An empty registry: only the families registered into it. */
    public MetricRegistry() {
    }

    /**
     * The registry of a running node: the JVM's and the process's metrics (GC, memory, buffer
     * pools, threads, classes, JIT, file descriptors, CPU time, start time, resident memory)
     * and {@code gpud_build_info{version}}, a constant 1.
     *
     * @param version the running build's version, as its jar manifest names it
     */
    public static MetricRegistry forNode(String version) {
        var metrics = new MetricRegistry();
        // A lambda, not RuntimeMetrics.REGISTRY::scrape: the collectors are set up at the first
        // scrape, off the node's start (JMX and the client's configuration take a while).
        metrics.registry.register((MultiCollector) () -> RuntimeMetrics.REGISTRY.scrape());
        Info.builder()
                .name("gpud_build_info")
                .help("The running gpud build: a constant 1 labelled with its version")
                .labelNames("version")
                .register(metrics.registry)
                .addLabelValues(version);
        return metrics;
    }

    /** A counter family with the given label names. */
    public Counter counter(String name, String help, String... labelNames) {
        var counter = io.prometheus.metrics.core.metrics.Counter.builder()
                .name(name)
                .help(help)
                .labelNames(labelNames)
                .withoutExemplars()
                .register(registry);
        return new Counter(counter, labelNames);
    }

    /** A histogram family; {@code buckets} are upper bounds in ascending order. */
    public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
        for (int i = 1; i < buckets.length; i++) {
            if (!(buckets[i] > buckets[i - 1])) {
                throw new IllegalArgumentException("histogram " + name + ": buckets must ascend, got "
                        + buckets[i - 1] + " then " + buckets[i]);
            }
        }
        var histogram = io.prometheus.metrics.core.metrics.Histogram.builder()
                .name(name)
                .help(help)
                .labelNames(labelNames)
                .classicOnly()
                .classicUpperBounds(buckets)
                .withoutExemplars()
                .register(registry);
        return new Histogram(histogram, labelNames);
    }

    /** A gauge whose value is read at scrape time. */
    public void gauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .callback(callback -> callback.call(value.getAsDouble()))
                .register(registry);
    }

    /**
     * A gauge family read at scrape time: {@code read} adds one sample per label set, with
     * its label values in the order of {@code labelNames}.
     */
    public void gauges(String name, String help, Consumer<Samples> read, String... labelNames) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames(labelNames)
                .callback(callback -> read.accept((value, labels) -> {
                    checkLabelCount(labelNames, labels);
                    callback.call(value, labels);
                }))
                .register(registry);
    }

    /**
     * A counter family read at scrape time from counts kept elsewhere ({@link #gauges} for
     * {@code read}); a count that starts again from zero (a reloaded model) reads as a reset.
     */
    public void counters(String name, String help, Consumer<Samples> read, String... labelNames) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames(labelNames)
                .callback(callback -> read.accept((value, labels) -> {
                    checkLabelCount(labelNames, labels);
                    callback.call(value, labels);
                }))
                .register(registry);
    }

    /** Where a family read at scrape time puts its samples. */
    @FunctionalInterface
    public interface Samples {
        void add(double value, String... labelValues);
    }

    /** The whole registry in the Prometheus text format ({@link #CONTENT_TYPE}). */
    public String scrape() {
        return new String(write(FORMATS.getPrometheusTextFormatWriter(), EscapingScheme.DEFAULT),
                StandardCharsets.UTF_8);
    }

    /**
     * The whole registry in the format the scraper's {@code Accept} header asks for:
     * OpenMetrics when it names {@code application/openmetrics-text}, else the Prometheus
     * text format.
     *
     * @param accept the request's {@code Accept} header, or null when it sent none
     */
    public Scrape scrape(String accept) {
        // Not FORMATS.findWriter: it picks protobuf for a scraper that prefers it, and that
        // writer is not on the class path. Every such scraper takes the text format too.
        ExpositionFormatWriter writer = FORMATS.getOpenMetricsTextFormatWriter().accepts(accept)
                ? FORMATS.getOpenMetricsTextFormatWriter()
                : FORMATS.getPrometheusTextFormatWriter();
        return new Scrape(writer.getContentType(), write(writer, EscapingScheme.fromAcceptHeader(accept)));
    }

    /** One scrape's body and the content type to send it with. */
    public record Scrape(String contentType, byte[] body) {
    }

    private byte[] write(ExpositionFormatWriter writer, EscapingScheme escaping) {
        var out = new ByteArrayOutputStream(16 * 1024);
        try {
            writer.write(out, registry.scrape(), escaping);
        } catch (IOException e) {
            throw new UncheckedIOException("writing metrics to memory: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    static void checkLabelCount(String[] names, String[] values) {
        if (values.length != names.length) {
            throw new IllegalArgumentException(
                    "expected " + names.length + " label values " + Arrays.toString(names) + ", got " + values.length);
        }
    }

    /**
     * The JVM's and the process's metrics: one set per process, registered when a node is
     * first scraped and shared by every node registry in it (tests run several nodes in one
     * JVM). The client's own registration keeps a registry reachable for the life of the JVM
     * and adds GC listeners to it, so registering them per node would pin every node's metrics.
     */
    private static final class RuntimeMetrics {
        static final PrometheusRegistry REGISTRY = new PrometheusRegistry();

        static {
            JvmMetrics.builder().register(REGISTRY);
        }
    }
}
