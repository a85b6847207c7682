package io.gpud.metrics;

import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;

/** A monotonically increasing count, per label values. */
public final class Counter {
    private final io.prometheus.metrics.core.metrics.Counter counter;
    private final String[] labelNames;

    Counter(io.prometheus.metrics.core.metrics.Counter counter, String[] labelNames) {
        this.counter = counter;
        this.labelNames = labelNames.clone();
    }

    /** Adds one to the series with these label values. */
    public void inc(String... labelValues) {
        add(1, labelValues);
    }

    /** Adds {@code amount} (≥ 0) to the series with these label values. */
    public void add(double amount, String... labelValues) {
        if (labelNames.length == 0) {
            MetricRegistry.checkLabelCount(labelNames, labelValues);
            counter.inc(amount);
        } else {
            counter.labelValues(labelValues).inc(amount);
        }
    }

    /** Current value of one series (0 when it was never recorded; reading creates no series). */
    public double value(String... labelValues) {
        MetricRegistry.checkLabelCount(labelNames, labelValues);
        Labels labels = Labels.of(labelNames, labelValues);
        for (CounterDataPointSnapshot point : counter.collect().getDataPoints()) {
            if (point.getLabels().equals(labels)) {
                return point.getValue();
            }
        }
        return 0;
    }
}
