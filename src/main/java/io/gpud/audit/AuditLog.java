package io.gpud.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.metrics.Counter;
import io.gpud.metrics.MetricRegistry;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only, hash-chained audit log. Each line is one JSON record
 * {@code {"seq", "time", "event", "fields", "prev", "hash"}} where {@code prev} is the
 * previous record's {@code hash} (64 zeros for the first) and {@code hash} is the SHA-256
 * of {@code prev} and the record's canonical JSON without {@code hash}. Editing a record
 * breaks its hash; removing or moving one breaks the next record's {@code prev} and the
 * sequence. Removing records from the end is detectable only against a hash kept
 * elsewhere ({@link #lastHash()}, what periodic signing will anchor).
 *
 * <h2>Durability</h2>
 *
 * <p>Records are handed to the operating system before {@link #append} returns, so an
 * audited operation has its record written before it proceeds, and a crash of the daemon
 * loses none. A background thread forces them to the disk at most {@link #FORCE_INTERVAL}
 * apart (only when there is something new), and {@link #close} forces the rest: so a crash
 * of the whole host may lose up to that interval. Forcing on the request path instead
 * would cost a request one {@code fdatasync} (measured at 4 ms median, 15 ms p99 on a
 * shared virtual disk), more than the secure path's whole latency budget. Field values are
 * identifiers and outcomes, never keys or payloads. The file is created mode 0640 (owner
 * and its group read it; tenant names, request ids and key ARNs are no one else's), and a
 * looser existing file is tightened to that when opened.
 *
 * <h2>A write that cannot complete</h2>
 *
 * <p>A record is whole only with its newline. A write that fails part way (a full disk
 * takes what fits in the file's last page, then refuses the rest; any other
 * {@code IOException}) is rolled back: the file is truncated to the end of the last whole
 * record, and the next record takes the same sequence number on a fresh line. We truncate
 * rather than seal the file and start a new segment: the log stays one file that one
 * {@code verify} walks, and a truncation frees what the torn bytes took, which a full
 * disk needs. If the truncation itself fails, the next write truncates first and refuses
 * to write until it can. A crash in the middle of a write cannot be rolled back then; it
 * leaves an <i>incomplete final record</i>: an unterminated last line. {@link #open}
 * removes it and writes an {@code audit.recovered} record saying how many bytes it removed
 * and their SHA-256, so the removal is itself in the chain; {@link #verify} of a log in
 * that state reports it intact with the incomplete record's size, not broken.
 *
 * <p>That lenience is kept narrow, because anyone who can write the file could use it: it
 * covers only the <i>last</i> line, only when no newline ends it, and only when its bytes
 * are the start of the record that would come next ({@code {"seq":N+1,"time":"}, or a
 * prefix of that). It is never counted as a record, and {@link Intact#lastHash()} is the
 * last whole record's. So the most it can hide is the last record, which cutting the file
 * short hides as well, and which only an anchored hash reveals either way. An incomplete
 * line anywhere else, or one that does not begin the next record, is {@link Broken}.
 *
 * <h2>Failing writes</h2>
 *
 * <p>A failed write makes {@link #append} throw, so the operation it records does not
 * proceed, counts {@code gpud_audit_write_failures_total}, and starts a <i>failure
 * episode</i>: one ERROR line in the log (the metric is what alerting rules watch),
 * {@link #failing()} answers why (the node is not ready for secure requests), and every
 * later append first writes an {@code audit.resumed} record (how many writes failed since
 * when), so the gap is in the chain too. A background probe tries that record every
 * {@link #PROBE_INTERVAL} too, so the episode ends once space returns even with no request
 * to try. A failed force is different: the kernel may have dropped the pages it could not
 * write, so which records reached the disk is unknown, and nothing later is written; the
 * episode lasts until the daemon restarts and reopens the log.
 *
 * <h2>Interrupts</h2>
 *
 * <p>The file is written through {@link RandomAccessFile}, not a {@code FileChannel}: a
 * {@code FileChannel} is an interruptible channel, so any caller whose thread is
 * interrupted (a request handler a deadline cut) would close it for everyone, under the
 * lock or in the middle of a write, leaving a torn record that could no longer be
 * truncated and a log that failed every later write until the daemon restarted. The
 * file's {@code java.io} calls ignore interrupts, on platform and virtual threads alike,
 * so only {@link #close} closes the file. An interrupted caller's record is written like
 * any other and its interrupt is left set for the caller to act on; the rollback,
 * failure episodes and {@link #verify} need no case for a file that closed under them.
 * We chose this over reopening a closed channel (every write and force would need a
 * reopen path, and a force on the closed channel would have to be told from a real
 * force failure) and over a writer thread (a hand-off on every append, and the caller
 * waiting for it would have to ignore its interrupt anyway, since the record must be
 * known to be written or rolled back before the caller goes on).
 */
public final class AuditLog implements AutoCloseable {

    static final String GENESIS = "0".repeat(64);
    /** Longest time between forcing records to the disk. */
    static final Duration FORCE_INTERVAL = Duration.ofSeconds(1);
    /** How often a failing log tries to write again, so it recovers without waiting for a request. */
    static final Duration PROBE_INTERVAL = Duration.ofSeconds(1);
    /** Created with, and tightened to: read and write for the owner, read for its group. */
    static final Set<PosixFilePermission> MODE = PosixFilePermissions.fromString("rw-r-----");

    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final RandomAccessFile out;
    private final Clock clock;
    private final Counter writeFailures;
    private final ScheduledExecutorService background;
    private long seq;
    private String lastHash;
    /** Bytes of whole records: where the next record starts, and what a failed write is truncated to. */
    private long end;
    private long forcedSeq;
    private IOException forceFailure;
    /** Null while writes succeed. */
    private Failing failing;

    /** Why records cannot be written now: the first failure's reason and time, and how many writes failed since. */
    public record Failing(String reason, Instant since, long failedWrites) {
    }

    private AuditLog(Path file, RandomAccessFile out, Clock clock, Counter writeFailures, Tail tail) {
        this.file = file;
        this.out = out;
        this.clock = clock;
        this.writeFailures = writeFailures;
        this.seq = tail.seq();
        this.lastHash = tail.hash();
        this.end = tail.end();
        this.forcedSeq = seq;
        this.background = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("audit-log").factory());
        background.scheduleWithFixedDelay(this::forceNew, FORCE_INTERVAL.toMillis(), FORCE_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::probe, PROBE_INTERVAL.toMillis(), PROBE_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Forces what was written since the last force; outside the append lock, so appends go on
     * meanwhile. {@link #close} stops this thread before it closes the file.
     */
    private void forceNew() {
        long written;
        synchronized (this) {
            written = seq;
            if (written == forcedSeq || forceFailure != null) {
                return;
            }
        }
        try {
            out.getFD().sync();
            synchronized (this) {
                forcedSeq = Math.max(forcedSeq, written);
            }
        } catch (IOException e) {
            synchronized (this) {
                forceFailure = e;
                failed("the audit log " + file + " could not be forced to disk (" + e.getMessage()
                        + "); records since the last force may be lost, so nothing more is written until the daemon "
                        + "restarts", e);
            }
        }
    }

    /** While writes fail: tries the record that ends the episode. */
    private synchronized void probe() {
        if (failing != null) {
            try {
                resumeIfFailing();
            } catch (AuditException stillFailing) {
                // Counted and logged by failed(); the next probe tries again.
            }
        }
    }

    /**
     * Opens (creating if needed, mode 0640) the log at {@code file}, continuing the chain it
     * holds; an incomplete final record an interrupted write left is removed, and the removal
     * recorded. Registers {@code gpud_audit_write_failures_total} in {@code metrics}.
     */
    public static AuditLog open(Path file, Clock clock, MetricRegistry metrics) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            restrictMode(file);
            Tail tail = Tail.read(file);
            var out = new RandomAccessFile(file.toFile(), "rw");
            Counter failures = metrics.counter("gpud_audit_write_failures_total",
                    "Audit records that could not be written (full disk, I/O error), the retries while "
                            + "writes fail included; a secure request whose record failed was refused");
            var log = new AuditLog(file, out, clock, failures, tail);
            if (tail.incomplete().length > 0) {
                try {
                    log.removeIncompleteTail(tail.incomplete());
                } catch (RuntimeException e) {
                    log.close();
                    throw e;
                }
            }
            return log;
        } catch (IOException e) {
            throw new AuditException("cannot open the audit log " + file + ": " + e.getMessage(), e);
        }
    }

    /** Creates the file mode 0640, or takes from an existing one any permission beyond that. */
    private static void restrictMode(Path file) throws IOException {
        if (!Files.getFileStore(file.getParent() != null ? file.getParent() : Path.of("."))
                .supportsFileAttributeView("posix")) {
            return;
        }
        if (!Files.exists(file)) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(MODE));
            Files.setPosixFilePermissions(file, MODE); // whatever the umask took away
            return;
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
        if (MODE.containsAll(mode)) {
            return;
        }
        var tightened = EnumSet.copyOf(mode);
        tightened.retainAll(MODE);
        try {
            Files.setPosixFilePermissions(file, tightened);
            LOG.warn("the audit log {} was mode {}, readable beyond its owner and group; tightened to {}", file,
                    PosixFilePermissions.toString(mode), PosixFilePermissions.toString(tightened));
        } catch (IOException e) {
            LOG.warn("the audit log {} is mode {}, readable beyond its owner and group, and cannot be tightened to "
                    + "{}: {}", file, PosixFilePermissions.toString(mode), PosixFilePermissions.toString(tightened),
                    e.getMessage());
        }
    }

    private synchronized void removeIncompleteTail(byte[] incomplete) {
        LOG.warn("the audit log {} ends in an incomplete record of {} bytes (a write the daemon's end or a full "
                + "disk interrupted); removing it", file, incomplete.length);
        append("audit.recovered", Map.of("removedBytes", Long.toString(incomplete.length),
                "removedSha256", sha256(incomplete),
                "reason", "an incomplete final record from an interrupted write"));
    }

    /** Appends one record and returns its hash; throws {@link AuditException} when it cannot be written. */
    public synchronized String append(String event, Map<String, String> fields) {
        resumeIfFailing();
        return write(event, fields);
    }

    /** Why records cannot be written now; empty while they can. */
    public synchronized Optional<Failing> failing() {
        return Optional.ofNullable(failing);
    }

    /** Ends a failure episode by writing its record; throws while writes still fail. */
    private void resumeIfFailing() {
        if (failing == null) {
            return;
        }
        Failing episode = failing;
        write("audit.resumed", Map.of("failedWrites", Long.toString(episode.failedWrites()),
                "since", episode.since().toString(), "reason", episode.reason()));
        failing = null;
        LOG.warn("the audit log {} is writable again after {} failed writes since {}", file, episode.failedWrites(),
                episode.since());
    }

    private String write(String event, Map<String, String> fields) {
        if (forceFailure != null) {
            throw failed("the audit log " + file + " could not be forced to disk (" + forceFailure.getMessage()
                    + "); nothing more is written until the daemon restarts", forceFailure);
        }
        ObjectNode record = JSON.createObjectNode();
        record.put("seq", seq + 1);
        record.put("time", clock.instant().toString());
        record.put("event", event);
        ObjectNode f = record.putObject("fields");
        new TreeMap<>(fields).forEach(f::put);
        record.put("prev", lastHash);
        String hash = hash(lastHash, record);
        record.put("hash", hash);
        byte[] bytes;
        try {
            bytes = (JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new AuditException("cannot write an audit record as JSON: " + e.getMessage(), e);
        }
        try {
            if (out.length() != end) {
                out.setLength(end); // a rollback that failed before
            }
            out.seek(end);
            out.write(bytes);
        } catch (IOException e) {
            rollBack();
            throw failed("cannot write the audit log " + file + ": " + e.getMessage(), e);
        }
        end += bytes.length;
        seq++;
        lastHash = hash;
        return hash;
    }

    /** Truncates to the last whole record; if that fails too, the next write tries again first. */
    private void rollBack() {
        try {
            out.setLength(end);
        } catch (IOException e) {
            LOG.debug("cannot truncate the audit log {} to {} bytes yet: {}", file, end, e.getMessage());
        }
    }

    /** Counts a failed write, starting a failure episode (one ERROR line) if none is under way. */
    private AuditException failed(String reason, IOException cause) {
        writeFailures.inc();
        if (failing == null) {
            failing = new Failing(reason, clock.instant(), 1);
            LOG.error("{}: secure requests are refused with 503 until a record can be written again "
                    + "(gpud_audit_write_failures_total counts the failed writes)", reason);
        } else {
            failing = new Failing(failing.reason(), failing.since(), failing.failedWrites() + 1);
        }
        return new AuditException(reason, cause);
    }

    /** The hash of the last record written (or found when opening). */
    public synchronized String lastHash() {
        return lastHash;
    }

    @Override
    public void close() {
        background.shutdown();
        try {
            background.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            closeFile();
        }
    }

    private void closeFile() {
        try {
            out.getFD().sync();
            out.close();
        } catch (IOException e) {
            throw new AuditException("cannot close the audit log: " + e.getMessage(), e);
        }
    }

    /**
     * Where an existing log leaves off: its last whole record's sequence number and hash, the
     * offset just past it, and the bytes of an incomplete record after it (empty if none).
     */
    private record Tail(long seq, String hash, long end, byte[] incomplete) {

        static Tail read(Path file) throws IOException {
            if (!Files.exists(file)) {
                return new Tail(0, GENESIS, 0, new byte[0]);
            }
            long seq = 0;
            String hash = GENESIS;
            long end = 0;
            byte[] last = null;
            try (var lines = RecordLines.of(file)) {
                for (RecordLines.Line line; (line = lines.next()) != null; ) {
                    if (!line.terminated()) {
                        if (last != null) {
                            JsonNode n = JSON.readTree(last);
                            seq = n.path("seq").asLong();
                            hash = n.path("hash").asText();
                        }
                        if (line.overlong() || !beginsRecord(line.bytes(), seq + 1)) {
                            throw new IOException("it ends in an unterminated line that is not the start of record "
                                    + (seq + 1) + ", so no interrupted write of ours left it; run `gpud audit verify "
                                    + file + "`");
                        }
                        return new Tail(seq, hash, end, line.bytes());
                    }
                    end = line.end();
                    if (line.bytes().length > 0 && !isBlank(line.bytes())) {
                        last = line.bytes();
                    }
                }
            }
            if (last != null) {
                JsonNode n = JSON.readTree(last);
                seq = n.path("seq").asLong();
                hash = n.path("hash").asText();
            }
            return new Tail(seq, hash, end, new byte[0]);
        }

        private static boolean isBlank(byte[] line) {
            return new String(line, StandardCharsets.UTF_8).isBlank();
        }
    }

    /**
     * Whether {@code line} is how record {@code seq} begins ({@code {"seq":N,"time":"}) or a
     * prefix of that: what an interrupted write of that record leaves.
     */
    static boolean beginsRecord(byte[] line, long seq) {
        byte[] start = ("{\"seq\":" + seq + ",\"time\":\"").getBytes(StandardCharsets.UTF_8);
        int n = Math.min(line.length, start.length);
        return line.length > 0 && Arrays.equals(line, 0, n, start, 0, n);
    }

    /** What {@link #verify} found. */
    public sealed interface Verification {
    }

    /**
     * Every record chains to the one before. {@code incompleteTailBytes} is the size of an
     * incomplete final record an interrupted write left after them (0 when none): not a
     * record, not counted, and removed when the daemon next opens the log.
     */
    public record Intact(long records, String lastHash, long incompleteTailBytes) implements Verification {
    }

    /** The first bad record: its 1-based line number and what is wrong. */
    public record Broken(long line, String reason) implements Verification {
    }

    /** Walks the whole file; holds one line at a time. */
    public static Verification verify(Path file) {
        String prev = GENESIS;
        long line = 0;
        try (var lines = RecordLines.of(file)) {
            for (RecordLines.Line l; (l = lines.next()) != null; ) {
                line++;
                if (!l.terminated() && !l.overlong() && beginsRecord(l.bytes(), line)) {
                    return new Intact(line - 1, prev, l.bytes().length);
                }
                if (l.overlong()) {
                    return new Broken(line, "record longer than " + RecordLines.MAX_BYTES + " bytes");
                }
                JsonNode n;
                try {
                    n = JSON.readTree(l.bytes());
                } catch (JsonProcessingException e) {
                    return new Broken(line, "not a JSON record");
                }
                if (!(n instanceof ObjectNode record) || !record.path("hash").isTextual()) {
                    return new Broken(line, "not an audit record");
                }
                if (record.path("seq").asLong(-1) != line) {
                    return new Broken(line, "sequence " + record.path("seq") + ", expected " + line
                            + " (a record was removed or moved)");
                }
                if (!prev.equals(record.path("prev").asText())) {
                    return new Broken(line, "prev does not match the hash of record " + (line - 1)
                            + " (a record was removed, moved or edited)");
                }
                String stated = record.remove("hash").asText();
                if (!hash(prev, record).equals(stated)) {
                    return new Broken(line, "hash does not match the record (it was edited)");
                }
                if (!l.terminated()) {
                    return new Broken(line, "the last record has no newline");
                }
                prev = stated;
            }
        } catch (IOException e) {
            throw new AuditException("cannot read the audit log " + file + ": " + e.getMessage(), e);
        }
        return new Intact(line, prev, 0);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AuditException("cannot hash an audit record", e);
        }
    }

    private static String hash(String prev, ObjectNode recordWithoutHash) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(prev.getBytes(StandardCharsets.UTF_8));
            md.update((byte) '\n');
            md.update(JSON.writeValueAsBytes(recordWithoutHash));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException | JsonProcessingException e) {
            throw new AuditException("cannot hash an audit record", e);
        }
    }
}
