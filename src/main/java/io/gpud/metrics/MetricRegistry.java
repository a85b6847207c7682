package io.gpud.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.DoubleSupplier;

/**
 * The node's metrics, exported in the Prometheus text format (version 0.0.4).
 *
 * <p>Families are created once at start-up and looked up by the code that records into
 * them; recording is lock-free. Label values are bounded by construction (routes, status
 * codes, model names), never taken raw from request input.
 */
public final class MetricRegistry {

    private final Map<String, Metric> families = new ConcurrentHashMap<>();
    private final List<String> order = new ArrayList<>();

    /** A counter family with the given label names. */
    public Counter counter(String name, String help, String... labelNames) {
        return register(new Counter(name, help, labelNames));
    }

    /** A histogram family; {@code buckets} are upper bounds in ascending order. */
    public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
        return register(new Histogram(name, help, buckets, labelNames));
    }

    /** A gauge whose value is read at scrape time. */
    public void gauge(String name, String help, DoubleSupplier value) {
        register(new Gauge(name, help, value));
    }

    private <M extends Metric> M register(M metric) {
        synchronized (order) {
            if (families.putIfAbsent(metric.name(), metric) != null) {
                throw new IllegalArgumentException("metric " + metric.name() + " is already registered");
            }
            order.add(metric.name());
        }
        return metric;
    }

    /** The whole registry in the Prometheus text exposition format. */
    public String scrape() {
        var out = new StringBuilder(4096);
        List<String> names;
        synchronized (order) {
            names = List.copyOf(order);
        }
        for (String name : names) {
            Metric m = families.get(name);
            out.append("# HELP ").append(name).append(' ').append(m.help()).append('\n');
            out.append("# TYPE ").append(name).append(' ').append(m.type()).append('\n');
            m.writeSamples(out);
        }
        return out.toString();
    }

    /** Content type of {@link #scrape()}. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    sealed interface Metric permits Counter, Histogram, Gauge {
        String name();

        String help();

        String type();

        void writeSamples(StringBuilder out);
    }
}
