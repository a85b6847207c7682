package io.gpud.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An append-only, hash-chained audit log. Each line is one JSON record
 * {@code {"seq", "time", "event", "fields", "prev", "hash"}} where {@code prev} is the
 * previous record's {@code hash} (64 zeros for the first) and {@code hash} is the SHA-256
 * of {@code prev} and the record's canonical JSON without {@code hash}. Editing a record
 * breaks its hash; removing or moving one breaks the next record's {@code prev} and the
 * sequence. Removing records from the end is detectable only against a hash kept
 * elsewhere ({@link #lastHash()}, what periodic signing will anchor).
 *
 * <p>Records are handed to the operating system before {@link #append} returns, so an
 * audited operation has its record written before it proceeds, and a crash of the daemon
 * loses none. A background thread forces them to the disk at most {@link #FORCE_INTERVAL}
 * apart (only when there is something new), and {@link #close} forces the rest: so a crash
 * of the whole host may lose up to that interval. Forcing on the request path instead
 * would cost a request one {@code fdatasync} (measured at 4 ms median, 15 ms p99 on a
 * shared virtual disk), more than the secure path's whole latency budget; a failed force
 * makes every later {@link #append} throw, so audited operations stop rather than go on
 * unrecorded. Field values are identifiers and outcomes, never keys or payloads.
 */
public final class AuditLog implements AutoCloseable {

    static final String GENESIS = "0".repeat(64);
    /** Longest time between forcing records to the disk. */
    static final java.time.Duration FORCE_INTERVAL = java.time.Duration.ofSeconds(1);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileChannel out;
    private final Clock clock;
    private final ScheduledExecutorService forcer;
    private long seq;
    private String lastHash;
    private long forcedSeq;
    private IOException forceFailure;

    private AuditLog(FileChannel out, Clock clock, long seq, String lastHash) {
        this.out = out;
        this.clock = clock;
        this.seq = seq;
        this.lastHash = lastHash;
        this.forcedSeq = seq;
        this.forcer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("audit-force").factory());
        long interval = FORCE_INTERVAL.toMillis();
        forcer.scheduleWithFixedDelay(this::forceNew, interval, interval, TimeUnit.MILLISECONDS);
    }

    /**
     * Forces what was written since the last force; outside the append lock, so appends go on
     * meanwhile. Never interrupted ({@link #close} shuts down without interrupting): an
     * interrupt would close the channel under a force.
     */
    private void forceNew() {
        long written;
        synchronized (this) {
            written = seq;
            if (written == forcedSeq || forceFailure != null || !out.isOpen()) {
                return;
            }
        }
        try {
            out.force(false);
            synchronized (this) {
                forcedSeq = Math.max(forcedSeq, written);
            }
        } catch (IOException e) {
            synchronized (this) {
                forceFailure = e;
            }
        }
    }

    /** Opens (creating if needed) the log at {@code file}, continuing the chain it holds. */
    public static AuditLog open(Path file, Clock clock) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            long seq = 0;
            String last = GENESIS;
            if (Files.exists(file)) {
                String tail = null;
                try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (!line.isBlank()) {
                            tail = line;
                        }
                    }
                }
                if (tail != null) {
                    JsonNode n = JSON.readTree(tail);
                    seq = n.path("seq").asLong();
                    last = n.path("hash").asText();
                }
            }
            FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
            return new AuditLog(out, clock, seq, last);
        } catch (IOException e) {
            throw new AuditException("cannot open the audit log " + file + ": " + e.getMessage(), e);
        }
    }

    /** Appends one record and returns its hash. */
    public synchronized String append(String event, Map<String, String> fields) {
        if (forceFailure != null) {
            throw new AuditException("the audit log could not be forced to disk: " + forceFailure.getMessage(), forceFailure);
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
        try {
            var bytes = java.nio.ByteBuffer.wrap((JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            throw new AuditException("cannot write the audit log: " + e.getMessage(), e);
        }
        seq++;
        lastHash = hash;
        return hash;
    }

    /** The hash of the last record written (or found when opening). */
    public synchronized String lastHash() {
        return lastHash;
    }

    @Override
    public void close() {
        forcer.shutdown();
        try {
            forcer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            closeFile();
        }
    }

    private void closeFile() {
        try {
            out.force(false);
            out.close();
        } catch (IOException e) {
            throw new AuditException("cannot close the audit log: " + e.getMessage(), e);
        }
    }

    /** What {@link #verify} found. */
    public sealed interface Verification {
    }

    /** Every record chains to the one before. */
    public record Intact(long records, String lastHash) implements Verification {
    }

    /** The first bad record: its 1-based line number and what is wrong. */
    public record Broken(long line, String reason) implements Verification {
    }

    /** Walks the whole file; reads one line at a time. */
    public static Verification verify(Path file) {
        String prev = GENESIS;
        long line = 0;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String text; (text = r.readLine()) != null; ) {
                line++;
                if (text.length() > 1 << 20) {
                    return new Broken(line, "record longer than 1 MiB");
                }
                JsonNode n;
                try {
                    n = JSON.readTree(text);
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
                prev = stated;
            }
        } catch (IOException e) {
            throw new AuditException("cannot read the audit log " + file + ": " + e.getMessage(), e);
        }
        return new Intact(line, prev);
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
