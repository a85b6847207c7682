package io.gpud.metrics;

import java.util.function.DoubleSupplier;

/** A value read at scrape time. */
record Gauge(String name, String help, DoubleSupplier value) implements MetricRegistry.Metric {

    @Override
    public String type() {
        return "gauge";
    }

    @Override
    public void writeSamples(StringBuilder out) {
        out.append(name).append(' ').append(Labels.format(value.getAsDouble())).append('\n');
    }
}
