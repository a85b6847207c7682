package io.gpud.audit;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.metrics.MetricRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {

    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;
    Path file;

    @BeforeEach
    void write() {
        file = dir.resolve("audit.log");
        try (var log = AuditLog.open(file, CLOCK, new MetricRegistry())) {
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
        try (var log = AuditLog.open(file, Clock.systemUTC(), new MetricRegistry())) {
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

    /**
     * The bytes a fifth record takes, written to a copy of the log: what an append that a
     * crash or a full disk cut short had begun to write.
     */
    byte[] fifthRecord() throws Exception {
        Path copy = dir.resolve("copy.log");
        Files.copy(file, copy);
        try (var log = AuditLog.open(copy, CLOCK, new MetricRegistry())) {
            log.append("kms.decrypt", Map.of("requestId", "r-5", "outcome", "ok"));
        }
        byte[] all = Files.readAllBytes(copy);
        return Arrays.copyOfRange(all, (int) Files.size(file), all.length);
    }

    void appendBytes(byte[] tail) throws Exception {
        Files.write(file, tail, java.nio.file.StandardOpenOption.APPEND);
    }

    @Test
    void anIncompleteFinalRecordIsAnInterruptedWriteNotTampering() throws Exception {
        byte[] five = fifthRecord();
        appendBytes(Arrays.copyOf(five, five.length / 2));
        var intact = assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(file),
                "a final record cut short without its newline is what an interrupted write leaves");
        assertEquals(4, intact.records());
        assertEquals(lines().get(3).replaceAll(".*\"hash\":\"([0-9a-f]{64})\".*", "$1"), intact.lastHash());
        assertEquals(five.length / 2, intact.incompleteTailBytes());

        // Even every byte but the newline: the append never returned, so the record does not count.
        Files.write(file, Arrays.copyOf(Files.readAllBytes(dir.resolve("copy.log")), (int) Files.size(dir.resolve("copy.log")) - 1));
        assertEquals(4, assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(file)).records());
    }

    @Test
    void theLenienceCoversOnlyAnUnterminatedFinalLineThatBeginsTheNextRecord() throws Exception {
        byte[] whole = Files.readAllBytes(file);
        byte[] five = fifthRecord();
        List<byte[]> notTorn = List.of(
                "not json".getBytes(),                                      // garbage, unterminated
                (new String(Arrays.copyOf(five, 20)) + "\n").getBytes(),    // a torn record, then more lines
                lines().get(2).substring(0, 30).getBytes(),                 // the start of an earlier record
                five.length > 0 ? new String(five).replace("\"seq\":5", "\"seq\":7").substring(0, 40).getBytes()
                        : new byte[0]);                                     // a record out of sequence
        for (byte[] tail : notTorn) {
            Files.write(file, whole);
            appendBytes(tail);
            var b = assertInstanceOf(AuditLog.Broken.class, AuditLog.verify(file), new String(tail));
            assertEquals(5, b.line());
        }
        Files.write(file, whole);
        appendBytes(Arrays.copyOf(five, 20));
        appendBytes("\n".getBytes());
        appendBytes(five);
        assertEquals(5, assertInstanceOf(AuditLog.Broken.class, AuditLog.verify(file)).line(),
                "a torn record in the middle of the log is not an interrupted write");
    }

    @Test
    void reopeningRemovesAnIncompleteFinalRecordRecordsThatItDidAndContinuesTheSequence() throws Exception {
        byte[] five = fifthRecord();
        appendBytes(Arrays.copyOf(five, 33));
        try (var log = AuditLog.open(file, CLOCK, new MetricRegistry())) {
            log.append("secure.start", Map.of());
        }
        var intact = assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(file));
        assertEquals(6, intact.records(), "the four records, the record of the removal, the new one");
        assertEquals(0, intact.incompleteTailBytes());
        List<String> l = lines();
        assertTrue(l.get(4).contains("\"event\":\"audit.recovered\"") && l.get(4).contains("\"removedBytes\":\"33\""),
                l.get(4));
        assertTrue(l.get(5).contains("\"seq\":6") && l.get(5).contains("secure.start"), l.get(5));
    }

    @Test
    void anUnterminatedFinalLineThatIsNotAnInterruptedRecordStopsTheOpen() throws Exception {
        appendBytes("{\"seq\":2,\"time\"".getBytes());
        var e = assertThrows(AuditException.class, () -> AuditLog.open(file, CLOCK, new MetricRegistry()));
        assertTrue(e.getMessage().contains("gpud audit verify"), e.getMessage());
    }

    @Test
    void theLogIsCreatedReadableByItsOwnerAndGroupOnlyAndALooserOneIsTightened() throws Exception {
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
        try (var log = AuditLog.open(file, CLOCK, new MetricRegistry())) {
            assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        }
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        try (var log = AuditLog.open(file, CLOCK, new MetricRegistry())) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                    "a stricter mode is kept");
        }
    }

    /**
     * A caller whose thread is interrupted (a request handler a deadline cut) appends: on a
     * platform thread and on a virtual thread, as request handlers run. The record is
     * written (the log's file I/O does not respond to interrupts, so the interrupt cannot
     * close the file under the log), the caller keeps its interrupt, and the next append
     * from another thread goes on the same chain.
     */
    @Test
    void anInterruptedCallerNeitherFailsNorDisablesTheLog() throws Exception {
        try (var log = AuditLog.open(file, CLOCK, new MetricRegistry())) {
            List<Object> outcomes = new ArrayList<>();
            for (Thread.Builder threads : List.of(Thread.ofPlatform(), Thread.ofVirtual())) {
                var outcome = new AtomicReference<Object>();
                var keptInterrupt = new AtomicBoolean();
                Thread caller = threads.start(() -> {
                    Thread.currentThread().interrupt();
                    try {
                        outcome.set(log.append("kms.decrypt", Map.of("requestId", "interrupted", "outcome", "ok")));
                    } catch (RuntimeException e) {
                        outcome.set(e);
                    }
                    keptInterrupt.set(Thread.currentThread().isInterrupted());
                });
                caller.join();
                assertTrue(keptInterrupt.get(), "the log leaves the caller's interrupt for the caller to act on");
                outcomes.add(outcome.get());
            }
            String next = assertDoesNotThrow(() -> log.append("kms.decrypt", Map.of("requestId", "next", "outcome", "ok")),
                    "an append from a thread nobody interrupted, after appends from interrupted ones");
            assertTrue(log.failing().isEmpty(), log.failing().toString());
            for (Object o : outcomes) {
                assertInstanceOf(String.class, o, "the interrupted caller's record was written");
            }
            assertEquals(next, log.lastHash());
        }
        var intact = assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(file));
        assertEquals(7, intact.records(), "the four records, the two interrupted callers', the next one");
        List<String> l = lines();
        assertTrue(l.get(4).contains("\"seq\":5") && l.get(4).contains("\"requestId\":\"interrupted\""), l.get(4));
        assertTrue(l.get(6).contains("\"seq\":7") && l.get(6).contains("\"requestId\":\"next\""), l.get(6));
    }

    /** Interrupts that land while a caller is appending, not only before: no append fails, the chain is whole. */
    @Test
    void interruptsDuringAppendsLeaveEveryRecordWrittenAndTheChainWhole() throws Exception {
        int appends = 500;
        var failure = new AtomicReference<RuntimeException>();
        try (var log = AuditLog.open(file, CLOCK, new MetricRegistry())) {
            Thread caller = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < appends; i++) {
                    try {
                        log.append("kms.decrypt", Map.of("requestId", "i-" + i, "outcome", "ok"));
                    } catch (RuntimeException e) {
                        failure.compareAndSet(null, e);
                    }
                }
            });
            while (caller.isAlive()) {
                caller.interrupt();
                Thread.onSpinWait();
            }
            assertEquals(null, failure.get(), "an append failed");
            log.append("kms.decrypt", Map.of("requestId", "next", "outcome", "ok"));
            assertTrue(log.failing().isEmpty(), log.failing().toString());
        }
        assertEquals(4 + appends + 1, assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(file)).records());
    }

    @Test
    void aWriteThatCannotCompleteOnAFullDiskIsRolledBackAndTheChainGoesOnOnceThereIsSpace() throws Exception {
        try (var disk = SmallTmpfs.mountOrSkip(dir.resolve("disk"), 64 << 10)) {
            Path full = disk.root().resolve("audit.log");
            var metrics = new MetricRegistry();
            try (var log = AuditLog.open(full, Clock.systemUTC(), metrics)) {
                log.append("secure.start", Map.of());
                disk.fill();
                long sizeBefore = -1;
                AuditException refused = null;
                for (int i = 0; i < 200 && refused == null; i++) {
                    sizeBefore = Files.size(full);
                    try {
                        log.append("kms.decrypt", Map.of("requestId", "r-" + i, "outcome", "x".repeat(100)));
                    } catch (AuditException e) {
                        refused = e;
                    }
                }
                assertTrue(refused != null, "an append on a full disk fails");
                assertEquals(sizeBefore, Files.size(full), "the failed append left no bytes behind");
                assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(full));
                assertThrows(AuditException.class, () -> log.append("kms.decrypt", Map.of("requestId", "again")));
                assertEquals(sizeBefore, Files.size(full));
                var failing = log.failing().orElseThrow();
                assertTrue(failing.reason().contains("No space left on device"), failing.reason());
                assertTrue(failing.failedWrites() >= 2, failing.toString());
                assertTrue(metrics.scrape().contains("gpud_audit_write_failures_total " + failing.failedWrites() + ".0"),
                        metrics.scrape());

                disk.free();
                log.append("kms.decrypt", Map.of("requestId", "after", "outcome", "ok"));
                assertTrue(log.failing().isEmpty(), "a write succeeded: the failure episode is over");
            }
            var intact = assertInstanceOf(AuditLog.Intact.class, AuditLog.verify(full));
            List<String> l = Files.readAllLines(full);
            assertEquals(l.size(), intact.records());
            assertTrue(l.getLast().contains("\"requestId\":\"after\""), l.getLast());
            assertTrue(l.get(l.size() - 2).contains("\"event\":\"audit.resumed\""), l.get(l.size() - 2));
        }
    }
}
