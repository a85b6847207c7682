package io.gpud.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {

    @TempDir
    Path dir;
    Path file;

    @BeforeEach
    void write() {
        file = dir.resolve("audit.log");
        var clock = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
        try (var log = AuditLog.open(file, clock)) {
            for (int i = 1; i <= 4; i++) {
                log.append("kms.decrypt", Map.of("requestId", "r-" + i, "outcome", "ok"));
            }
        }
    }

    List<String> lines() throws Exception {
        return new ArrayList<>(Files.readAllLines(file));
    }

    AuditLog.Broken broken(List<String> lines) throws Exception {
        Files.write(file, lines);
        return assertInstanceOf(AuditLog.Broken.class, AuditLog.verify(file));
    }

    @Test
    void anIntactLogVerifiesAndReopeningContinuesTheChain() throws Exception {
        var intact = assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(file));
        assertEquals(4, intact.records());
        try (var log = AuditLog.open(file, Clock.systemUTC())) {
            assertEquals(intact.lastHash(), log.lastHash());
            log.append("secure.start", Map.of());
        }
        assertEquals(5, assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(file)).records());
    }

    @Test
    void anEditedRecordIsDetected() throws Exception {
        List<String> l = lines();
        l.set(1, l.get(1).replace("\"ok\"", "\"denied\""));
        var b = broken(l);
        assertEquals(2, b.line());
        assertTrue(b.reason().contains("edited"), b.reason());
    }

    @Test
    void aDeletedRecordIsDetected() throws Exception {
        List<String> l = lines();
        l.remove(1);
        assertEquals(2, broken(l).line());
    }

    @Test
    void reorderedRecordsAreDetected() throws Exception {
        List<String> l = lines();
        String two = l.get(1);
        l.set(1, l.get(2));
        l.set(2, two);
        assertEquals(2, broken(l).line());
    }

    @Test
    void aRewrittenChainWithRecomputedSequenceStillBreaksAtTheEdit() throws Exception {
        List<String> l = lines();
        l.set(2, l.get(2).replace("r-3", "r-9"));
        assertEquals(3, broken(l).line());
    }

    @Test
    void garbageIsReportedNotThrown() throws Exception {
        List<String> l = lines();
        l.add("not json");
        var b = broken(l);
        assertEquals(5, b.line());
        assertEquals("not a JSON record", b.reason());
    }
}
