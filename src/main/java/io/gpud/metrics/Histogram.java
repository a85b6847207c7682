package io.gpud.metrics;

import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;

/** Observations counted into fixed buckets, per label values. */
public final class Histogram {

    /** Bucket bounds in seconds for request latencies: 5 ms … 60 s. */
    public static final double[] LATENCY_SECONDS =
            {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final io.prometheus.metrics.core.metrics.Histogram histogram;
    private final String[] labelNames;

    Histogram(io.prometheus.metrics.core.metrics.Histogram histogram, String[] labelNames) {
        this.histogram = histogram;
        this.labelNames = labelNames.clone();
    }

    /** Records one observation. */
    public void observe(double value, String... labelValues) {
        if (labelNames.length == 0) {
            MetricRegistry.checkLabelCount(labelNames, labelValues);
            histogram.observe(value);
        } else {
            histogram.labelValues(labelValues).observe(value);
        }
    }

    /** Number of observations in one series (0 when it was never recorded; reading creates no series). */
    public long count(String... labelValues) {
        MetricRegistry.checkLabelCount(labelNames, labelValues);
        Labels labels = Labels.of(labelNames, labelValues);
        for (HistogramDataPointSnapshot point : histogram.collect().getDataPoints()) {
            if (point.getLabels().equals(labels)) {
                return point.getCount();
            }
        }
        return 0;
    }
}
