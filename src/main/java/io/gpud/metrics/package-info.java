/**
 * The node's metrics, over the Prometheus Java client ({@code io.prometheus:prometheus-metrics-*}).
 *
 * <p>Entry type: {@link io.gpud.metrics.MetricRegistry}. Subsystems register their families
 * in it at start-up ({@code counter}, {@code histogram}, {@code gauge}) and record through
 * {@link io.gpud.metrics.Counter} and {@link io.gpud.metrics.Histogram}; the client's own
 * types never leave this package (an ArchUnit test holds that). The client does the
 * recording and the exposition: {@code MetricRegistry.scrape(accept)} writes the Prometheus
 * text format (0.0.4), or OpenMetrics 1.0 when the scraper's {@code Accept} header asks for
 * it, and the API's metrics listener serves that on {@code /metrics}.
 *
 * <p>A node's registry ({@code MetricRegistry.forNode}) also carries the client's JVM and
 * process collectors ({@code jvm_*}: GC, memory and memory pools, buffer pools, threads,
 * classes, JIT; {@code process_*}: CPU seconds, start time, open and maximum file
 * descriptors, resident and virtual memory) and {@code gpud_build_info{version}}, a constant
 * 1. The JVM and process collectors are registered once per process and shared by every
 * node registry in it.
 *
 * <p>Conventions kept from before the client: every name starts with {@code gpud_}, counters
 * end in {@code _total}, times are seconds and sizes bytes in the name
 * ({@code _seconds}, {@code _bytes}), and label values are bounded (routes, status codes,
 * model names, reasons), never raw request input. The client writes a labelled family only
 * once it has a series, and an unlabelled counter from 0.
 */
package io.gpud.metrics;
