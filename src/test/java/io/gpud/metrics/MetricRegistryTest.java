package io.gpud.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MetricRegistryTest {

    private final MetricRegistry registry = new MetricRegistry();

    @Test
    void countersAddPerLabelValuesAndReadingCreatesNoSeries() {
        Counter dropped = registry.counter("gpud_test_dropped_total", "Dropped, by reason", "reason");
        dropped.inc("parse");
        dropped.add(2.5, "parse");
        dropped.inc("say \"hi\"\n");

        assertEquals(3.5, dropped.value("parse"));
        assertEquals(0, dropped.value("size"));
        String text = registry.scrape();
        assertTrue(text.contains("# HELP gpud_test_dropped_total Dropped, by reason\n"), text);
        assertTrue(text.contains("# TYPE gpud_test_dropped_total counter\n"), text);
        assertTrue(text.contains("gpud_test_dropped_total{reason=\"parse\"} 3.5\n"), text);
        assertTrue(text.contains("gpud_test_dropped_total{reason=\"say \\\"hi\\\"\\n\"} 1.0\n"), text);
        assertFalse(text.contains("size"), "reading a series must not export it: " + text);
    }

    @Test
    void anUnlabelledCounterIsExportedAtZeroBeforeItsFirstAdd() {
        Counter probes = registry.counter("gpud_test_probes_total", "Probes");
        assertTrue(registry.scrape().contains("\ngpud_test_probes_total 0.0\n"), registry.scrape());
        probes.inc();
        assertEquals(1, probes.value());
    }

    @Test
    void histogramsCountIntoTheirBuckets() {
        Histogram latency = registry.histogram("gpud_test_seconds", "Latency", new double[] {0.1, 1}, "route");
        latency.observe(0.05, "/a");
        latency.observe(0.5, "/a");
        latency.observe(7, "/a");

        assertEquals(3, latency.count("/a"));
        assertEquals(0, latency.count("/b"));
        String text = registry.scrape();
        assertTrue(text.contains("gpud_test_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"), text);
        assertTrue(text.contains("gpud_test_seconds_bucket{route=\"/a\",le=\"1.0\"} 2\n"), text);
        assertTrue(text.contains("gpud_test_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"), text);
        assertTrue(text.contains("gpud_test_seconds_count{route=\"/a\"} 3\n"), text);
        assertTrue(text.contains("gpud_test_seconds_sum{route=\"/a\"} 7.55\n"), text);
    }

    @Test
    void gaugesAreReadAtScrapeTime() {
        double[] depth = {3};
        registry.gauge("gpud_test_depth", "Depth", () -> depth[0]);
        assertTrue(registry.scrape().contains("\ngpud_test_depth 3.0\n"), registry.scrape());
        depth[0] = 4;
        assertTrue(registry.scrape().contains("\ngpud_test_depth 4.0\n"), registry.scrape());
    }

    @Test
    void misuseIsAClearError() {
        Counter byReason = registry.counter("gpud_test_a_total", "A", "reason");
        Counter plain = registry.counter("gpud_test_b_total", "B");
        assertThrows(IllegalArgumentException.class, () -> byReason.inc("x", "y"));
        assertEquals("expected 0 label values [], got 1",
                assertThrows(IllegalArgumentException.class, () -> plain.inc("x")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> plain.add(-1));
        assertThrows(IllegalArgumentException.class, () -> registry.counter("gpud_test_a_total", "again", "reason"));
        assertEquals("histogram gpud_test_h: buckets must ascend, got 1.0 then 0.5",
                assertThrows(IllegalArgumentException.class,
                        () -> registry.histogram("gpud_test_h", "H", new double[] {1, 0.5})).getMessage());
    }

    @Test
    void theScraperChoosesTextOrOpenMetrics() {
        registry.counter("gpud_test_c_total", "C").inc();

        var text = registry.scrape(null);
        assertEquals(MetricRegistry.CONTENT_TYPE, text.contentType());
        assertEquals(registry.scrape(), new String(text.body(), StandardCharsets.UTF_8));

        var openMetrics = registry.scrape("application/openmetrics-text;version=1.0.0,text/plain;q=0.5");
        assertEquals("application/openmetrics-text; version=1.0.0; charset=utf-8", openMetrics.contentType());
        String body = new String(openMetrics.body(), StandardCharsets.UTF_8);
        assertTrue(body.contains("# TYPE gpud_test_c counter\n"), body);
        assertTrue(body.endsWith("# EOF\n"), body);
    }

    @Test
    void aNodeRegistryAddsTheRuntimeAndBuildInfo() {
        String text = MetricRegistry.forNode("1.2.3").scrape();
        assertTrue(text.contains("\ngpud_build_info{version=\"1.2.3\"} 1\n"), text);
        assertTrue(text.contains("\n# TYPE jvm_memory_used_bytes gauge\n"), text);
        assertTrue(text.contains("\n# TYPE process_cpu_seconds_total counter\n"), text);
        assertFalse(registry.scrape().contains("jvm_"), "a plain registry holds only its own families");
    }
}
