/**
 * Metric registry and its Prometheus text exporter. Entry type: {@link io.gpud.metrics.MetricRegistry}.
 */
package io.gpud.metrics;
