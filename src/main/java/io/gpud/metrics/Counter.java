package io.gpud.metrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;

/** A monotonically increasing count, per label values. */
public final class Counter implements MetricRegistry.Metric {
    private final String name;
    private final String help;
    private final String[] labelNames;
    private final Map<Labels, DoubleAdder> series = new ConcurrentHashMap<>();
    /** The one series of a counter without labels, once recorded: adds skip the map. */
    private volatile DoubleAdder unlabelled;

    Counter(String name, String help, String[] labelNames) {
        this.name = name;
        this.help = help;
        this.labelNames = labelNames.clone();
    }

    /** Adds one to the series with these label values. */
    public void inc(String... labelValues) {
        add(1, labelValues);
    }

    /** Adds {@code amount} (≥ 0) to the series with these label values. */
    public void add(double amount, String... labelValues) {
        if (amount < 0) {
            throw new IllegalArgumentException("counter " + name + " cannot decrease by " + amount);
        }
        if (labelNames.length == 0 && labelValues.length == 0) {
            DoubleAdder a = unlabelled;
            if (a == null) {
                a = series.computeIfAbsent(Labels.NONE, k -> new DoubleAdder());
                unlabelled = a;
            }
            a.add(amount);
            return;
        }
        series.computeIfAbsent(Labels.of(labelNames, labelValues), k -> new DoubleAdder()).add(amount);
    }

    /** Current value of one series (0 when it was never recorded). */
    public double value(String... labelValues) {
        DoubleAdder a = labelNames.length == 0 && labelValues.length == 0 ? unlabelled
                : series.get(Labels.of(labelNames, labelValues));
        return a == null ? 0 : a.sum();
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
        return "counter";
    }

    @Override
    public void writeSamples(StringBuilder out) {
        series.forEach((labels, adder) -> {
            out.append(name);
            labels.write(out, labelNames, null, null);
            out.append(' ').append(Labels.format(adder.sum())).append('\n');
        });
    }
}
