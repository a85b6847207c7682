package io.gpud.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import io.gpud.config.LogConfig;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Applies {@link LogConfig} to logback at start-up: level, JSON lines when asked, and
 * java.util.logging routed into the same output. Helidon's {@code System.Logger} calls
 * reach logback without that bridge (helidon-logging-slf4j brings SLF4J's
 * {@code System.LoggerFinder}).
 */
final class Logging {
    private Logging() {
    }

    static void apply(LogConfig config) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        var propagator = new ch.qos.logback.classic.jul.LevelChangePropagator();
        propagator.setContext(context);
        propagator.setResetJUL(true);
        propagator.start();
        context.addListener(propagator);
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(config.level().name(), Level.INFO));
        if (config.format() == LogConfig.Format.JSON) {
            var encoder = new JsonEncoder();
            encoder.setContext(context);
            encoder.setWithSequenceNumber(false);
            encoder.setWithNanoseconds(false);
            encoder.setWithContext(false);
            encoder.setWithMessage(false);
            encoder.setWithFormattedMessage(true);
            encoder.setWithArguments(false);
            encoder.start();
            var appender = new ConsoleAppender<ILoggingEvent>();
            appender.setContext(context);
            appender.setName("JSON");
            appender.setTarget("System.err");
            appender.setEncoder(encoder);
            appender.start();
            root.detachAndStopAllAppenders();
            root.addAppender(appender);
        }
    }
}
