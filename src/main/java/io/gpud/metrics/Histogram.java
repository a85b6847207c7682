package io.gpud.metrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;

/** Observations counted into fixed buckets, per label values. */
public final class Histogram implements MetricRegistry.Metric {

    /** Bucket bounds in seconds for request latencies: 5 ms … 60 s. */
    public static final double[] LATENCY_SECONDS =
            {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final String name;
    private final String help;
    private final double[] bounds;
    private final String[] labelNames;
    private final Map<Labels, Series> series = new ConcurrentHashMap<>();

    Histogram(String name, String help, double[] bounds, String[] labelNames) {
        for (int i = 1; i < bounds.length; i++) {
            if (!(bounds[i] > bounds[i - 1])) {
                throw new IllegalArgumentException("histogram " + name + ": buckets must ascend, got "
                        + bounds[i - 1] + " then " + bounds[i]);
            }
        }
        this.name = name;
        this.help = help;
        this.bounds = bounds.clone();
        this.labelNames = labelNames.clone();
    }

    /** Records one observation. */
    public void observe(double value, String... labelValues) {
        Series s = series.computeIfAbsent(Labels.of(labelNames, labelValues), k -> new Series(bounds.length + 1));
        int i = 0;
        while (i < bounds.length && value > bounds[i]) {
            i++;
        }
        s.buckets.incrementAndGet(i);
        s.sum.add(value);
    }

    /** Number of observations in one series. */
    public long count(String... labelValues) {
        Series s = series.get(Labels.of(labelNames, labelValues));
        if (s == null) {
            return 0;
        }
        long n = 0;
        for (int i = 0; i < s.buckets.length(); i++) {
            n += s.buckets.get(i);
        }
        return n;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String help() {
        return help;
    }

    @Override
    public String type() {
        return "histogram";
    }

    @Override
    public void writeSamples(StringBuilder out) {
        series.forEach((labels, s) -> {
            long cumulative = 0;
            for (int i = 0; i <= bounds.length; i++) {
                cumulative += s.buckets.get(i);
                out.append(name).append("_bucket");
                labels.write(out, labelNames, "le", i < bounds.length ? Labels.format(bounds[i]) : "+Inf");
                out.append(' ').append(cumulative).append('\n');
            }
            out.append(name).append("_sum");
            labels.write(out, labelNames, null, null);
            out.append(' ').append(Labels.format(s.sum.sum())).append('\n');
            out.append(name).append("_count");
            labels.write(out, labelNames, null, null);
            out.append(' ').append(cumulative).append('\n');
        });
    }

    private record Series(AtomicLongArray buckets, DoubleAdder sum) {
        Series(int n) {
            this(new AtomicLongArray(n), new DoubleAdder());
        }
    }
}
