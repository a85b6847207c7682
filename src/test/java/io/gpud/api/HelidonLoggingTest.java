package io.gpud.api;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.helidon.logging.common.spi.LoggingProvider;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Helidon's logging goes to SLF4J/logback, and Helidon finds a logging provider for it. */
class HelidonLoggingTest {

    @Test
    void helidonSystemLoggerRecordsReachLogbackDirectly() {
        assertEquals("org.slf4j.jdk.platform.logging.SLF4JSystemLoggerFinder",
                System.LoggerFinder.getLoggerFinder().getClass().getName(),
                "System.Logger (what Helidon logs through) must be SLF4J's, not java.util.logging's");

        var context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger helidon = context.getLogger("io.helidon");
        var appender = new ListAppender<ILoggingEvent>();
        appender.setContext(context);
        appender.start();
        helidon.addAppender(appender);
        helidon.setAdditive(false); // the probe goes to the list only, not the test console
        try {
            System.getLogger("io.helidon.webserver.LoggingProbe")
                    .log(System.Logger.Level.WARNING, "probe {0}", "one");

            assertEquals(1, appender.list.size(), appender.list.toString());
            ILoggingEvent event = appender.list.getFirst();
            assertEquals("io.helidon.webserver.LoggingProbe", event.getLoggerName());
            assertEquals(Level.WARN, event.getLevel());
            assertEquals("probe one", event.getFormattedMessage());
        } finally {
            helidon.setAdditive(true);
            helidon.detachAppender(appender);
        }
    }

    @Test
    void helidonFindsItsSlf4jLoggingProvider() {
        var providers = ServiceLoader.load(LoggingProvider.class).stream().map(p -> p.type().getName()).toList();
        assertTrue(providers.contains("io.helidon.logging.slf4j.Slf4jProvider"), providers.toString());
    }
}
